package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/mamori/mamori/internal/clidoc"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/metrics"
	"github.com/mamori/mamori/internal/report"
	"github.com/mamori/mamori/internal/server"
)

// cmdReport: mamori report --config FILE --tenant T (--month YYYY-MM |
// --from T1 --to T2) [--lang ja|en] --format pdf|html|json --out FILE
func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := clidoc.NewFlagSet("mamori report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "the server's config file (for data_dir, tenants and the report settings)")
	tenant := fs.String("tenant", "", "tenant (required)")
	month := fs.String("month", "", "calendar month YYYY-MM in the tenant's time zone")
	fromS := fs.String("from", "", "period start, RFC 3339 (with --to)")
	toS := fs.String("to", "", "period end, RFC 3339, exclusive")
	lang := fs.String("lang", "", "ja or en (default: the tenant's language)")
	format := fs.String("format", "pdf", "pdf, html or json")
	out := fs.String("out", "", "output file (required; - for standard output)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	from, to, err := reportPeriod(cfg, *tenant, *month, *fromS, *toS)
	if err == nil && *out == "" {
		err = errors.New("--out is required")
	}
	if err == nil && *lang != "" && *lang != "ja" && *lang != "en" {
		err = errors.New("--lang must be ja or en")
	}
	if err == nil && *format != "pdf" && *format != "html" && *format != "json" {
		err = errors.New("--format must be pdf, html or json")
	}
	if err != nil {
		fmt.Fprintf(stderr, "mamori report: %v\n", err)
		return 2
	}
	body, err := renderReport(cfg, *tenant, from, to, *lang, *format)
	if err != nil {
		fmt.Fprintf(stderr, "mamori report: %v\n", err)
		return 1
	}
	if *out == "-" {
		_, err = stdout.Write(body)
	} else {
		err = os.WriteFile(*out, body, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mamori report: %v\n", err)
		return 1
	}
	return 0
}

func reportPeriod(cfg *config.Config, tenant, month, fromS, toS string) (time.Time, time.Time, error) {
	var from, to time.Time
	if tenant == "" {
		return from, to, errors.New("--tenant is required")
	}
	switch {
	case month != "" && (fromS != "" || toS != ""):
		return from, to, errors.New("give either --month or --from and --to")
	case month != "":
		return report.Month(month, cfg.Tenant(tenant).Location())
	case fromS == "" || toS == "":
		return from, to, errors.New("give --month YYYY-MM, or --from and --to (RFC 3339)")
	}
	from, err := time.Parse(time.RFC3339, fromS)
	if err != nil {
		return from, to, fmt.Errorf("--from: %v", err)
	}
	if to, err = time.Parse(time.RFC3339, toS); err != nil {
		return from, to, fmt.Errorf("--to: %v", err)
	}
	return from, to, nil
}

// renderReport reads the server's data (the database, and the metrics
// read-only: the server may be running) and renders one format.
func renderReport(cfg *config.Config, tenant string, from, to time.Time, lang, format string) ([]byte, error) {
	ctx := context.Background()
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	windows, err := report.Windows(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	src := report.Sources{Config: cfg, History: st, Alerts: st, Tickets: st, Windows: windows}
	if tsdb, err := metrics.OpenReadOnly(filepath.Join(cfg.DataDir, "tsdb"), nil); err == nil {
		defer tsdb.Close()
		src.Metrics = tsdb
	}
	r, err := report.Build(ctx, src, report.Options{Tenant: tenant, From: from, To: to, Lang: lang, Now: time.Now()})
	if err != nil {
		return nil, err
	}
	switch format {
	case "json":
		return r.JSON()
	case "html":
		return r.HTML()
	}
	return r.PDF(report.PDFOptions{Font: cfg.Report.Font})
}
