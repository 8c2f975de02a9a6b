package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/maintenance"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/store"
)

// Render builds a report and its three renderings; the PDF is drawn while
// the JSON and the HTML are (they only read the report).
func Render(ctx context.Context, src Sources, o Options) (*Report, store.ReportFiles, error) {
	var f store.ReportFiles
	r, err := Build(ctx, src, o)
	if err != nil {
		return nil, f, err
	}
	var wg sync.WaitGroup
	var textErr error
	wg.Go(func() {
		if f.JSON, textErr = r.JSON(); textErr != nil {
			return
		}
		f.HTML, textErr = r.HTML()
	})
	f.PDF, err = r.PDF(PDFOptions{Font: src.Config.Report.Font})
	wg.Wait()
	if err := errors.Join(textErr, err); err != nil {
		return nil, store.ReportFiles{}, err
	}
	return r, f, nil
}

// Windows are the maintenance windows of config and store.
func Windows(ctx context.Context, cfg *config.Config, ms Maintenances) (maintenance.Set, error) {
	set := append(maintenance.Set(nil), cfg.Maintenance...)
	if ms == nil {
		return set, nil
	}
	rows, err := ms.Maintenances(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		var w maintenance.Window
		if json.Unmarshal(r.Body, &w) == nil {
			w.ID = r.ID
			set = append(set, &w)
		}
	}
	return set, nil
}

// Mailer queues a rendered message through the durable outbox
// (*alerting.Service).
type Mailer interface {
	EnqueueReport(ctx context.Context, channel, contact string, m notify.Message, dedup string) (bool, error)
}

// Service generates the monthly reports on the 1st in each tenant's zone,
// catches up a month missed while the server was down, stores them and
// mails them; it also records the server's running time (gaps in it are
// no-data time in availability).
type Service struct {
	Config  func() *config.Config
	Sources func(ctx context.Context) (Sources, error)
	Store   store.Reports
	Mailer  Mailer // nil: not mailed
	Log     *slog.Logger
	Now     func() time.Time
	Tick    time.Duration // default 30 s
}

// Run marks the server's run and checks for due reports every Tick.
func (s *Service) Run(ctx context.Context) {
	if s.Now == nil {
		s.Now = time.Now
	}
	tick := s.Tick
	if tick <= 0 {
		tick = 30 * time.Second
	}
	start := s.Now()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := s.Store.MarkRun(context.WithoutCancel(ctx), start, s.Now()); err != nil {
			s.Log.Warn("report: record server run", "err", err)
		}
		if ctx.Err() != nil {
			return
		}
		if err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("report: monthly reports", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// RunDue generates, for every tenant, last month's report if it is not
// stored yet (on the 1st, or at the first start after it).
func (s *Service) RunDue(ctx context.Context) error {
	cfg := s.Config()
	if cfg.Report.Disabled {
		return nil
	}
	for _, name := range cfg.TenantNames() {
		t := cfg.Tenant(name)
		loc := t.Location()
		now := s.Now().In(loc)
		from := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, loc)
		month := from.Format("2006-01")
		have, err := s.Store.MonthlyReport(ctx, name, month, t.Lang)
		if err != nil {
			return err
		}
		if have != nil {
			continue
		}
		if _, err := s.Generate(ctx, name, from, from.AddDate(0, 1, 0), t.Lang, store.ReportMonthly, "schedule"); err != nil {
			return fmt.Errorf("tenant %s %s: %w", name, month, err)
		}
	}
	return nil
}

// Generate builds, stores and (for a new monthly report) mails a report.
func (s *Service) Generate(ctx context.Context, tenant string, from, to time.Time, lang, kind, by string) (*store.ReportRow, error) {
	src, err := s.Sources(ctx)
	if err != nil {
		return nil, err
	}
	r, files, err := Render(ctx, src, Options{Tenant: tenant, From: from, To: to, Lang: lang, Now: s.Now()})
	if err != nil {
		return nil, err
	}
	row := &store.ReportRow{Tenant: tenant, Kind: kind, Month: r.Month, From: from, To: to, Lang: r.Lang, CreatedAt: r.GeneratedAt, CreatedBy: by}
	created, err := s.Store.SaveReport(ctx, row, files)
	if err != nil {
		return nil, err
	}
	s.Log.Info("report generated", "tenant", tenant, "period", r.Period(), "id", row.ID, "kind", kind, "pdf_bytes", len(files.PDF))
	if created && kind == store.ReportMonthly {
		s.mail(ctx, src.Config, r, row, files.PDF)
	}
	return row, nil
}

// mail queues the report to the tenant's report contacts.
func (s *Service) mail(ctx context.Context, cfg *config.Config, r *Report, row *store.ReportRow, pdf []byte) {
	t := cfg.Tenant(r.Tenant)
	if s.Mailer == nil || cfg.Report.Channel == "" || len(t.ReportContacts) == 0 {
		return
	}
	for _, name := range t.ReportContacts {
		var addr string
		for _, c := range cfg.Contacts {
			if c.Name == name {
				addr = c.Email
			}
		}
		if addr == "" {
			continue
		}
		m := r.Mail(addr, pdf, cfg.PublicURL, row.ID)
		if _, err := s.Mailer.EnqueueReport(ctx, cfg.Report.Channel, name, m, fmt.Sprint(row.ID)); err != nil {
			s.Log.Error("report: queue mail", "tenant", r.Tenant, "contact", name, "err", err)
		}
	}
}

// FileName is the report's PDF name.
func (r *Report) FileName() string {
	p := r.Month
	if p == "" {
		p = r.From.In(r.Location()).Format("20060102") + "-" + r.To.In(r.Location()).Format("20060102")
	}
	return fmt.Sprintf("report-%s-%s.pdf", r.Tenant, p)
}

// Mail is the message that carries the report.
func (r *Report) Mail(to string, pdf []byte, publicURL string, id int64) notify.Message {
	subject := fmt.Sprintf("[%s] %s %s — %s", r.Provider, r.T("title"), r.Period(), r.TenantName)
	var text string
	if r.Lang == "ja" {
		text = fmt.Sprintf("%s 御中\n\n%sの%sをお送りします。PDF を添付しております。\n\n稼働率: %s\n障害件数: %d\n運用作業・お問い合わせ: %d\n",
			r.TenantName, r.Period(), r.T("title"), r.Pct(r.Summary.Availability), r.Summary.Incidents, r.Summary.TicketsOpened)
	} else {
		text = fmt.Sprintf("%s\n\nPlease find attached the %s for %s.\n\nAvailability: %s\nIncidents: %d\nOperations work and inquiries: %d\n",
			r.TenantName, r.T("title"), r.Period(), r.Pct(r.Summary.Availability), r.Summary.Incidents, r.Summary.TicketsOpened)
	}
	if publicURL != "" {
		text += fmt.Sprintf("\n%s/reports\n", strings.TrimSuffix(publicURL, "/"))
	}
	text += "\n-- \n" + joinNonEmpty("\n", r.Provider, r.Contact) + "\n"
	return notify.Message{Kind: notify.KindReport, Lang: r.Lang, TimeZone: r.TimeZone, To: to, Tenant: r.Tenant, Time: r.GeneratedAt,
		Subject: subject, Text: text, Attachments: []notify.Attachment{{Name: r.FileName(), ContentType: "application/pdf", Data: pdf}}}
}
