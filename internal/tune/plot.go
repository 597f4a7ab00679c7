package tune

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Sizes of the plot's two parts, in points: the fronts on top, simulate's day below.
const (
	plotWidth   = 720
	frontHeight = 360
	dayHeight   = 792
)

// PlotSVG draws each tuned worker's Pareto front (pod-minutes against p99 wait, the winner
// ringed, the goal as a line) above simulate's panels of the tuned layout's run (solid)
// against the input's (dashed).
func (r *Result) PlotSVG(w io.Writer) error {
	var fronts, day bytes.Buffer
	if err := r.plotFronts(&fronts); err != nil {
		return err
	}
	after, before := *r.After, *r.Before
	after.Layout, before.Layout = "tuned", "input"
	if err := simulate.PlotSVG(&day, &after, &before); err != nil {
		return err
	}
	fmt.Fprintf(w, "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"%dpt\" height=\"%dpt\">\n",
		plotWidth, frontHeight+dayHeight)
	for _, part := range []struct {
		svg []byte
		y   int
	}{{fronts.Bytes(), 0}, {day.Bytes(), frontHeight}} {
		s := string(part.svg)
		i := strings.Index(s, "<svg")
		if i < 0 {
			return fmt.Errorf("plotting: a part has no <svg> element")
		}
		fmt.Fprintf(w, "<svg y=\"%dpt\"%s\n", part.y, strings.TrimPrefix(s[i:], "<svg"))
	}
	_, err := io.WriteString(w, "</svg>\n")
	return err
}

func (r *Result) plotFronts(w io.Writer) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Pareto fronts on trace %s (ringed: the winner; lines: goals; p99 up to 4x the goal)", r.Trace)
	p.X.Label.Text = "pod-minutes"
	p.Y.Label.Text = "p99 wait, seconds"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	top := 0.0
	for _, o := range r.Workers {
		if o.Tuned {
			top = max(top, 4*o.Goal)
		}
	}
	p.Y.Min, p.Y.Max = 0, top
	for i, o := range r.Workers {
		if !o.Tuned {
			continue
		}
		var pts plotter.XYs
		for _, e := range o.Front {
			if e.P99 <= top {
				pts = append(pts, plotter.XY{X: e.PodMinutes, Y: e.P99})
			}
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Color = simulate.WorkerColor(&r.After.Workers[i], i)
		sc.Shape = draw.CircleGlyph{}
		win, err := plotter.NewScatter(plotter.XYs{{X: o.After.PodMinutes, Y: o.After.P99}})
		if err != nil {
			return err
		}
		win.Color, win.Radius, win.Shape = sc.Color, vg.Points(6), draw.RingGlyph{}
		goal := plotter.NewFunction(func(float64) float64 { return o.Goal })
		goal.Color, goal.Width = sc.Color, vg.Points(0.5)
		p.Add(sc, win, goal)
		p.Legend.Add(o.Name, sc)
	}
	c := vgsvg.NewWith(vgsvg.UseWH(vg.Points(plotWidth), vg.Points(frontHeight)))
	p.Draw(draw.New(c))
	_, err := c.WriteTo(w)
	return err
}
