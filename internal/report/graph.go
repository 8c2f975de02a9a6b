package report

import (
	"fmt"
	"image/color"
	"math"
	"sync"
	"time"

	"golang.org/x/image/font/opentype"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// palette colours a graph's series (colour-blind safe, Okabe–Ito).
var palette = []color.RGBA{
	{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{230, 159, 0, 255}, {86, 180, 233, 255}, {120, 120, 120, 255},
}

var plotFonts sync.Map // font path → font.Font registered in the plot's cache

// plotFont registers the report's font with gonum/plot so that the plot
// measures text with the glyphs the PDF draws.
func plotFont(fd *fontData) (font.Font, error) {
	if f, ok := plotFonts.Load(fd.path); ok {
		return f.(font.Font), nil
	}
	ttf, err := opentype.Parse(fd.bytes)
	if err != nil {
		return font.Font{}, fmt.Errorf("report: font %s: %w", fd.path, err)
	}
	f := font.Font{Typeface: font.Typeface("mamori-report:" + fd.path)}
	font.DefaultCache.Add(font.Collection{{Font: f, Face: ttf}})
	plotFonts.Store(fd.path, f)
	return f, nil
}

// newGraphPlot draws one resource graph: per series, the daily min–max
// band and the daily average line, days of the period along x.
func (r *Report) newGraphPlot(g Graph, fnt font.Font) (*plot.Plot, error) {
	p := plot.New()
	setFonts(p, fnt)
	p.Title.Text = r.T(g.ID)
	if g.Unit != "" {
		p.Title.Text += " (" + g.Unit + ")"
	}
	p.Title.TextStyle.Font.Size = 8
	p.Title.Padding = vg.Points(2)
	loc := r.Location()
	start := r.From.In(loc)
	days := r.To.Sub(r.From).Hours() / 24
	p.X.Min, p.X.Max = 0, math.Max(1, math.Ceil(days))
	p.X.Tick.Marker = dayTicks{start: start, days: int(p.X.Max)}
	p.Y.Min = 0
	if g.Unit == "%" {
		p.Y.Max = 100
	}
	p.Y.Tick.Marker = unitTicks{unit: g.Unit}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 225}
	grid.Horizontal.Color = color.Gray{Y: 225}
	grid.Vertical.Width, grid.Horizontal.Width = vg.Points(0.4), vg.Points(0.4)
	p.Add(grid)
	for i, s := range g.Series {
		band, avg, err := seriesXY(s, start, loc)
		if err != nil {
			return nil, err
		}
		clr := palette[i%len(palette)]
		if len(band) >= 3 {
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return nil, err
			}
			light := color.NRGBA{R: clr.R, G: clr.G, B: clr.B, A: 56}
			poly.Color, poly.LineStyle.Width = light, 0
			p.Add(poly)
		}
		line, err := plotter.NewLine(avg)
		if err != nil {
			return nil, err
		}
		line.Color, line.Width = clr, vg.Points(1)
		p.Add(line)
		if len(g.Series) > 1 || s.Name != g.ID {
			p.Legend.Add(s.Name, line)
		}
		if g.Unit != "%" {
			for _, d := range s.Days {
				p.Y.Max = math.Max(p.Y.Max, d.Max*1.1)
			}
		}
	}
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.TextStyle.Font.Size = 6
	p.Legend.Padding = vg.Points(1)
	p.Legend.ThumbnailWidth = vg.Points(10)
	return p, nil
}

func setFonts(p *plot.Plot, f font.Font) {
	for _, ts := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		size := ts.Size
		*ts = f
		ts.Size = size
	}
	p.X.Tick.Label.Font.Size, p.Y.Tick.Label.Font.Size = 6, 6
}

// seriesXY places each day at its middle: x = days since the start + 0.5.
func seriesXY(s Series, start time.Time, loc *time.Location) (band plotter.XYs, avg plotter.XYs, err error) {
	for _, d := range s.Days {
		t, err := time.ParseInLocation("2006-01-02", d.Date, loc)
		if err != nil {
			return nil, nil, err
		}
		x := t.Sub(start).Hours()/24 + 0.5
		avg = append(avg, plotter.XY{X: x, Y: d.Avg})
		band = append(band, plotter.XY{X: x, Y: d.Max})
	}
	for i := len(s.Days) - 1; i >= 0; i-- {
		band = append(band, plotter.XY{X: avg[i].X, Y: s.Days[i].Min})
	}
	if len(avg) == 1 { // one day: a visible line
		avg = append(avg, plotter.XY{X: avg[0].X + 0.01, Y: avg[0].Y})
	}
	return band, avg, nil
}

// dayTicks labels day numbers every few days.
type dayTicks struct {
	start time.Time
	days  int
}

func (d dayTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1
	if d.days > 10 {
		step = 5
	}
	var ts []plot.Tick
	for i := 0; i <= d.days; i++ {
		t := plot.Tick{Value: float64(i)}
		if i < d.days && (i%step == 0) {
			t = plot.Tick{Value: float64(i) + 0.5, Label: fmt.Sprint(d.start.AddDate(0, 0, i).Day())}
		}
		ts = append(ts, t)
	}
	return ts
}

// unitTicks are plain ticks with compact labels (1.5k, 2M).
type unitTicks struct{ unit string }

func (u unitTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = compact(ts[i].Value)
		}
	}
	return ts
}

func compact(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trimZero(v/1e9) + "G"
	case a >= 1e6:
		return trimZero(v/1e6) + "M"
	case a >= 1e3:
		return trimZero(v/1e3) + "k"
	}
	return trimZero(v)
}

func trimZero(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}

// drawPlot draws a plot into a rectangle of the current page.
func drawPlot(c *pdfCanvas, p *plot.Plot) {
	defer c.done()
	p.Draw(draw.New(c))
}
