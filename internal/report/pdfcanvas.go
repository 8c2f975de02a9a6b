package report

import (
	"image"
	"image/color"
	"math"

	"codeberg.org/go-pdf/fpdf"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// pdfCanvas is a vg.Canvas drawing into a rectangle of a page of the
// report's PDF, so that gonum/plot graphs are vector drawings inside the
// same document (the page unit is mm; vg works in points, y up).
type pdfCanvas struct {
	doc        *fpdf.Fpdf
	x, y, w, h float64 // the rectangle, mm, y down
	family     string  // the document's font family for text
	stack      []canvasState
}

type canvasState struct {
	m     [6]float64 // affine transform in points: a b c d e f
	color color.Color
	width vg.Length
}

const mmPerPt = 25.4 / 72

func newPDFCanvas(doc *fpdf.Fpdf, x, y, w, h float64, family string) *pdfCanvas {
	c := &pdfCanvas{doc: doc, x: x, y: y, w: w, h: h, family: family,
		stack: []canvasState{{m: [6]float64{1, 0, 0, 1, 0, 0}, color: color.Black, width: 1}}}
	vg.Initialize(c)
	return c
}

// done restores the document's drawing state.
func (c *pdfCanvas) done() {
	c.doc.SetAlpha(1, "Normal")
	c.doc.SetDashPattern(nil, 0)
	c.doc.SetLineWidth(0.2)
	c.doc.SetDrawColor(0, 0, 0)
	c.doc.SetFillColor(255, 255, 255)
	c.doc.SetTextColor(0, 0, 0)
}

func (c *pdfCanvas) top() *canvasState { return &c.stack[len(c.stack)-1] }

// Size is the rectangle in points.
func (c *pdfCanvas) Size() (vg.Length, vg.Length) {
	return vg.Length(c.w / mmPerPt), vg.Length(c.h / mmPerPt)
}

// pos maps a point through the transform to the page (mm).
func (c *pdfCanvas) pos(p vg.Point) (float64, float64) {
	m := c.top().m
	x := m[0]*float64(p.X) + m[2]*float64(p.Y) + m[4]
	y := m[1]*float64(p.X) + m[3]*float64(p.Y) + m[5]
	return c.x + x*mmPerPt, c.y + c.h - y*mmPerPt
}

func (c *pdfCanvas) mul(n [6]float64) {
	m := &c.top().m
	a, b, cc, d, e, f := m[0], m[1], m[2], m[3], m[4], m[5]
	*m = [6]float64{
		a*n[0] + cc*n[1], b*n[0] + d*n[1],
		a*n[2] + cc*n[3], b*n[2] + d*n[3],
		a*n[4] + cc*n[5] + e, b*n[4] + d*n[5] + f,
	}
}

func (c *pdfCanvas) SetLineWidth(w vg.Length) {
	c.top().width = w
	c.doc.SetLineWidth(float64(w) * mmPerPt)
}

func (c *pdfCanvas) SetLineDash(dashes []vg.Length, offs vg.Length) {
	ds := make([]float64, len(dashes))
	for i, d := range dashes {
		ds[i] = float64(d) * mmPerPt
	}
	c.doc.SetDashPattern(ds, float64(offs)*mmPerPt)
}

func (c *pdfCanvas) SetColor(clr color.Color) {
	if clr == nil {
		clr = color.Black
	}
	c.top().color = clr
	r, g, b, a := clr.RGBA()
	if a == 0 {
		c.doc.SetAlpha(0, "Normal")
		return
	}
	r8, g8, b8 := int(r*255/a), int(g*255/a), int(b*255/a)
	c.doc.SetDrawColor(r8, g8, b8)
	c.doc.SetFillColor(r8, g8, b8)
	c.doc.SetTextColor(r8, g8, b8)
	c.doc.SetAlpha(float64(a)/0xffff, "Normal")
}

func (c *pdfCanvas) Rotate(rad float64) {
	s, co := math.Sin(rad), math.Cos(rad)
	c.mul([6]float64{co, s, -s, co, 0, 0})
}

func (c *pdfCanvas) Translate(p vg.Point) { c.mul([6]float64{1, 0, 0, 1, float64(p.X), float64(p.Y)}) }

func (c *pdfCanvas) Scale(x, y float64) { c.mul([6]float64{x, 0, 0, y, 0, 0}) }

func (c *pdfCanvas) Push() { c.stack = append(c.stack, *c.top()) }

func (c *pdfCanvas) Pop() {
	if len(c.stack) > 1 {
		c.stack = c.stack[:len(c.stack)-1]
	}
	c.SetColor(c.top().color)
	c.SetLineWidth(c.top().width)
}

func (c *pdfCanvas) Stroke(p vg.Path) {
	if c.top().width > 0 {
		c.path(p, "D")
	}
}

func (c *pdfCanvas) Fill(p vg.Path) { c.path(p, "F") }

func (c *pdfCanvas) path(p vg.Path, style string) {
	var startX, startY float64
	for _, comp := range p {
		switch comp.Type {
		case vg.MoveComp:
			startX, startY = c.pos(comp.Pos)
			c.doc.MoveTo(startX, startY)
		case vg.LineComp:
			c.doc.LineTo(c.pos(comp.Pos))
		case vg.ArcComp:
			c.arc(comp)
		case vg.CurveComp:
			px, py := c.pos(comp.Pos)
			switch len(comp.Control) {
			case 1:
				cx, cy := c.pos(comp.Control[0])
				c.doc.CurveTo(cx, cy, px, py)
			case 2:
				cx, cy := c.pos(comp.Control[0])
				dx, dy := c.pos(comp.Control[1])
				c.doc.CurveBezierCubicTo(cx, cy, dx, dy, px, py)
			}
		case vg.CloseComp:
			c.doc.LineTo(startX, startY)
			c.doc.ClosePath()
		}
	}
	c.doc.DrawPath(style)
}

// arc is flattened into short lines (markers and round caps only).
func (c *pdfCanvas) arc(comp vg.PathComp) {
	n := max(4, int(math.Abs(comp.Angle)/(math.Pi/16)))
	for i := 0; i <= n; i++ {
		a := comp.Start + comp.Angle*float64(i)/float64(n)
		pt := vg.Point{X: comp.Pos.X + comp.Radius*vg.Length(math.Cos(a)), Y: comp.Pos.Y + comp.Radius*vg.Length(math.Sin(a))}
		c.doc.LineTo(c.pos(pt))
	}
}

// FillString draws text with the document's font at the face's size; the
// plot measures text with the same font (see useFont), so its layout fits.
func (c *pdfCanvas) FillString(f font.Face, p vg.Point, s string) {
	if f.Font.Size == 0 {
		return
	}
	c.doc.SetFont(c.family, "", float64(f.Font.Size))
	x, y := c.pos(p)
	m := c.top().m
	angle := math.Atan2(m[1], m[0]) * 180 / math.Pi
	if math.Abs(angle) > 0.01 {
		c.doc.TransformBegin()
		c.doc.TransformRotate(angle, x, y)
		c.doc.Text(x, y, s)
		c.doc.TransformEnd()
		return
	}
	c.doc.Text(x, y, s)
}

// DrawImage is not used by the report's graphs.
func (c *pdfCanvas) DrawImage(vg.Rectangle, image.Image) {}
