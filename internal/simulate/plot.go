package simulate

import (
	"fmt"
	"image/color"
	"io"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// queueColor colours a worker by its first queue, so the same work has the same colour in both
// layouts of a comparison; the second layout is drawn dashed.
var queueColor = map[string]color.Color{
	layout.QueueDefault:   color.RGBA{0x1f, 0x77, 0xb4, 0xff},
	layout.QueueIngress:   color.RGBA{0xd6, 0x27, 0x28, 0xff},
	layout.QueuePush:      color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	layout.QueueMailers:   color.RGBA{0xff, 0x7f, 0x0e, 0xff},
	layout.QueueScheduler: color.RGBA{0x94, 0x67, 0xbd, 0xff},
	layout.QueuePull:      color.RGBA{0x8c, 0x56, 0x4b, 0xff},
	layout.QueueFASP:      color.RGBA{0xe3, 0x77, 0xc2, 0xff},
}

// WorkerColor is the colour of the i-th worker w in every plot: by its first queue, so the same
// work has the same colour in every layout.
func WorkerColor(w *WorkerResult, i int) color.Color {
	if len(w.Queues) > 0 {
		if c, ok := queueColor[w.Queues[0]]; ok {
			return c
		}
	}
	return palette[i%len(palette)]
}

// palette colours workers whose first queue is not a Mastodon queue.
var palette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff},
	color.RGBA{0xe3, 0x77, 0xc2, 0xff}, color.RGBA{0x7f, 0x7f, 0x7f, 0xff},
}

// plottable refuses no results, or a result run without its series.
func plottable(results []*Result) error {
	if len(results) == 0 {
		return fmt.Errorf("nothing to plot")
	}
	for _, r := range results {
		if len(r.Workers) > 0 && r.Seconds > 0 && r.Workers[0].Depth == nil {
			return fmt.Errorf("%s: the run has no per-second series to plot: run it without Options.NoSeries", r.Layout)
		}
	}
	return nil
}

// panels are PlotSVG's panels, top to bottom: a series per worker, reduced to one value a minute.
var panels = []struct {
	title, y string
	series   func(*WorkerResult) []float32
	reduce   func([]float32) float64
}{
	{"Jobs queued", "jobs", func(r *WorkerResult) []float32 { return r.Depth }, maxOf},
	{"Pods (dotted: oracle)", "pods", func(r *WorkerResult) []float32 { return r.Pods }, meanOf},
	{"Oldest job's wait (thin: goal)", "seconds", func(r *WorkerResult) []float32 { return r.Latency }, maxOf},
}

// PlotSVG draws, over time in minutes, three stacked panels for each result: jobs queued per
// worker, pods per worker (with the oracle's pods dotted), and the age of each worker's oldest
// queued job against its latency goal. The first result is solid, a second one dashed.
// Values are aggregated per minute: the maximum depth and age, the mean pods.
func PlotSVG(w io.Writer, results ...*Result) error {
	if err := plottable(results); err != nil {
		return err
	}
	plots := make([][]*plot.Plot, len(panels))
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.title
		if i == 0 {
			p.Title.Text = fmt.Sprintf("%s: trace %s", pn.title, results[0].Trace)
		}
		p.X.Label.Text = "minutes"
		p.Y.Label.Text = pn.y
		p.Legend.Top = true
		p.Legend.Left = true
		p.Add(plotter.NewGrid())
		for li, res := range results {
			for wi := range res.Workers {
				wr := &res.Workers[wi]
				if !wr.Autoscaled && i != 1 && maxOf(pn.series(wr)) == 0 {
					continue
				}
				line, err := plotter.NewLine(perMinute(pn.series(wr), pn.reduce))
				if err != nil {
					return err
				}
				line.Color = WorkerColor(wr, wi)
				line.Width = vg.Points(1.2)
				if li > 0 {
					line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				}
				p.Add(line)
				name := wr.Name
				if len(results) > 1 {
					name = fmt.Sprintf("%s (%s)", wr.Name, res.Layout)
				}
				if i == 0 {
					p.Legend.Add(name, line)
				}
				if li == 0 && i > 0 {
					if err := addGuide(p, wr, i == 1, line.Color); err != nil {
						return err
					}
				}
			}
		}
		plots[i] = []*plot.Plot{p}
	}
	const width, height = 10 * vg.Inch, 11 * vg.Inch
	c := vgsvg.NewWith(vgsvg.UseWH(width, height))
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12), PadY: vg.Points(12)}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	_, err := c.WriteTo(w)
	return err
}

// addGuide draws the first result's guide line of worker wr: the oracle's pods (dotted) in
// the pods panel, else the latency goal (thin).
func addGuide(p *plot.Plot, wr *WorkerResult, oracle bool, c color.Color) error {
	series, reduce := make([]float32, len(wr.Latency)), maxOf
	if oracle {
		series, reduce = make([]float32, len(wr.Oracle.Pods)), meanOf
		for s, n := range wr.Oracle.Pods {
			series[s] = float32(n)
		}
	} else {
		for s := range series {
			series[s] = float32(wr.Goal)
		}
	}
	l, err := plotter.NewLine(perMinute(series, reduce))
	if err != nil {
		return err
	}
	l.Color, l.Width = c, vg.Points(0.5)
	if oracle {
		l.Width, l.Dashes = vg.Points(0.8), []vg.Length{vg.Points(1), vg.Points(2)}
	}
	p.Add(l)
	return nil
}

// perMinute reduces a per-second series to one point a minute.
func perMinute(s []float32, reduce func([]float32) float64) plotter.XYs {
	pts := make(plotter.XYs, 0, len(s)/60+1)
	for m := 0; m*60 < len(s); m++ {
		chunk := s[m*60 : min(len(s), (m+1)*60)]
		pts = append(pts, plotter.XY{X: float64(m), Y: reduce(chunk)})
	}
	return pts
}

func maxOf(s []float32) float64 {
	var m float32
	for _, v := range s {
		m = max(m, v)
	}
	return float64(m)
}

func meanOf(s []float32) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, v := range s {
		sum += float64(v)
	}
	return sum / float64(len(s))
}
