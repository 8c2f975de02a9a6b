package report

import (
	"bytes"
	"fmt"
	"strings"

	"codeberg.org/go-pdf/fpdf"
	"gonum.org/v1/plot/font"
)

// PDFOptions tune the PDF.
type PDFOptions struct {
	Font string // TrueType font path ("" = search FontPaths)
}

// A4 portrait, mm.
const (
	pageW, pageH = 210.0, 297.0
	margin       = 14.0
	contentW     = pageW - 2*margin
	fam          = "body"
)

// Colours of the document.
var (
	ink    = [3]int{33, 37, 41}
	muted  = [3]int{108, 117, 125}
	accent = [3]int{19, 78, 140}
	rule   = [3]int{206, 212, 218}
	shade  = [3]int{241, 244, 248}
	bad    = [3]int{176, 42, 55}
	good   = [3]int{25, 110, 60}
)

type pdfDoc struct {
	*fpdf.Fpdf
	r    *Report
	font font.Font
}

// PDF renders the report as a PDF document with the font's glyphs that it
// uses embedded (a subset), resource graphs as vector drawings.
func (r *Report) PDF(o PDFOptions) ([]byte, error) {
	fd, err := loadFont(o.Font)
	if err != nil {
		return nil, err
	}
	pf, err := plotFont(fd)
	if err != nil {
		return nil, err
	}
	f := fpdf.New("P", "mm", "A4", "")
	f.SetCreationDate(r.GeneratedAt)
	f.SetModificationDate(r.GeneratedAt)
	f.AddUTF8FontFromBytes(fam, "", fd.bytes)
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("report: font %s: %w", fd.path, err)
	}
	f.SetTitle(r.Provider+" "+r.T("title")+" "+r.Period(), true)
	f.SetAuthor(r.Provider, true)
	f.SetCreator("mamori", true)
	f.SetMargins(margin, margin+10, margin)
	f.SetAutoPageBreak(true, margin+8)
	d := &pdfDoc{Fpdf: f, r: r, font: pf}
	f.SetHeaderFuncMode(d.header, true)
	f.SetFooterFunc(d.footer)
	f.AliasNbPages("{nb}")
	d.cover()
	d.availabilityTables()
	d.incidentPages()
	d.ticketPages()
	d.maintenancePages()
	if err := d.trendPages(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := f.Output(&b); err != nil {
		return nil, fmt.Errorf("report: pdf: %w", err)
	}
	return b.Bytes(), nil
}

func (d *pdfDoc) color(c [3]int)  { d.SetTextColor(c[0], c[1], c[2]) }
func (d *pdfDoc) fill(c [3]int)   { d.SetFillColor(c[0], c[1], c[2]) }
func (d *pdfDoc) draw(c [3]int)   { d.SetDrawColor(c[0], c[1], c[2]) }
func (d *pdfDoc) size(pt float64) { d.SetFont(fam, "", pt) }
func (d *pdfDoc) text(w, h float64, s string, align string) {
	d.CellFormat(w, h, d.fit(s, w), "", 0, align, false, 0, "")
}

// header: the provider's name and the report's title on every page after
// the first.
func (d *pdfDoc) header() {
	if d.PageNo() == 1 {
		return
	}
	d.size(8)
	d.color(muted)
	d.SetXY(margin, 9)
	d.text(contentW/2, 5, d.r.Provider, "L")
	d.text(contentW/2, 5, d.r.TenantName+"  "+d.r.T("title")+"  "+d.r.Period(), "R")
	d.draw(rule)
	d.SetLineWidth(0.2)
	d.Line(margin, 15, pageW-margin, 15)
	d.SetXY(margin, margin+10)
}

func (d *pdfDoc) footer() {
	d.SetY(-12)
	d.size(7.5)
	d.color(muted)
	left := d.r.Provider
	if d.r.Contact != "" {
		left += "  ·  " + d.r.Contact
	}
	d.text(contentW*0.75, 4, left, "L")
	d.text(contentW*0.25, 4, fmt.Sprintf("%d / {nb}", d.PageNo()), "R")
}

// fit shortens s with an ellipsis to fit width w at the current font.
func (d *pdfDoc) fit(s string, w float64) string {
	limit := w - 2*d.GetCellMargin()
	if d.GetStringWidth(s) <= limit {
		return s
	}
	rs := []rune(s)
	for len(rs) > 0 && d.GetStringWidth(string(rs)+"…") > limit {
		rs = rs[:len(rs)-1]
	}
	return string(rs) + "…"
}

// section starts a titled section, on a new page if less than need mm
// are left.
func (d *pdfDoc) section(title string, need float64) {
	if d.GetY()+need > pageH-margin-8 {
		d.AddPage()
	}
	d.Ln(4)
	d.size(12.5)
	d.color(accent)
	d.text(contentW, 7, title, "L")
	d.Ln(7)
	d.draw(accent)
	d.SetLineWidth(0.4)
	d.Line(margin, d.GetY(), margin+contentW, d.GetY())
	d.Ln(2.5)
	d.color(ink)
}

func (d *pdfDoc) note(s string) {
	d.size(7.5)
	d.color(muted)
	d.MultiCell(contentW, 3.8, s, "", "L", false)
	d.color(ink)
}

func (d *pdfDoc) none() {
	d.size(9)
	d.color(muted)
	d.text(contentW, 6, d.r.T("none"), "L")
	d.Ln(7)
	d.color(ink)
}

// column of a table.
type column struct {
	title string
	width float64 // share of the content width
	align string
}

// cell is a table cell; a non-nil colour overrides the text colour.
type cell struct {
	text  string
	color *[3]int
}

func plain(s string) cell { return cell{text: s} }

// table draws rows with a header that repeats after page breaks; cells
// are shortened to fit (never overflow).
func (d *pdfDoc) table(cols []column, rows [][]cell) {
	const rowH, headH = 5.6, 6.4
	head := func() {
		d.size(7.5)
		d.fill(accent)
		d.SetTextColor(255, 255, 255)
		for _, c := range cols {
			w := c.width * contentW
			d.CellFormat(w, headH, d.fit(c.title, w), "", 0, c.align, true, 0, "")
		}
		d.Ln(headH)
	}
	head()
	for i, row := range rows {
		if d.GetY()+rowH > pageH-margin-8 {
			d.AddPage()
			head()
		}
		d.size(8)
		if i%2 == 1 {
			d.fill(shade)
		} else {
			d.SetFillColor(255, 255, 255)
		}
		for j, c := range cols {
			w := c.width * contentW
			d.color(ink)
			if row[j].color != nil {
				d.color(*row[j].color)
			}
			d.CellFormat(w, rowH, d.fit(row[j].text, w), "", 0, c.align, true, 0, "")
		}
		d.Ln(rowH)
	}
	d.draw(rule)
	d.SetLineWidth(0.2)
	d.Line(margin, d.GetY(), margin+contentW, d.GetY())
	d.color(ink)
}

// verdict colours a met/missed cell.
func (d *pdfDoc) verdict(m *bool) cell {
	c := plain(d.r.Met(m))
	switch {
	case m == nil:
	case *m:
		c.color = &good
	default:
		c.color = &bad
	}
	return c
}

// pct colours an availability against the target.
func (d *pdfDoc) pct(a Avail) cell {
	c := plain(d.r.Pct(a.AvailabilityPercent))
	if a.TargetMet != nil && !*a.TargetMet {
		c.color = &bad
	}
	return c
}

func joinNonEmpty(sep string, ss ...string) string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}
