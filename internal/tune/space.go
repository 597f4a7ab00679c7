package tune

import (
	"fmt"
	"math"
	"slices"

	"github.com/mastoscale/mastoscale/pkg/layout"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"
)

// Knobs are the settings tune searches for one autoscaled worker.
type Knobs struct {
	Concurrency int32 `json:"concurrency"`
	MinReplicas int32 `json:"minReplicas"`
	MaxReplicas int32 `json:"maxReplicas"`
	// ListLength is the backlog per replica of the worker's triggers (every queue of the worker
	// gets it: tune drops per-queue listLengths it changes).
	ListLength int64 `json:"listLength"`
	// Pace indexes the worker's scale-up/scale-down choices (Space.Paces).
	Pace int `json:"-"`
}

// Connections is what the knobs hold of Postgres at max replicas (DB_POOL = -c).
func (k Knobs) Connections() int64 { return int64(k.MaxReplicas) * int64(k.Concurrency) }

// Pace is a scale-up and scale-down behavior tune may give a worker.
type Pace struct {
	// Name is a behavior preset's name when Up and Down are both that preset's, "as written"
	// for the input's own behavior, or up/down names joined by "+".
	Name     string
	Preset   string // the layout's behaviorPreset to write, "" for an explicit behavior
	Up, Down *autoscalingv2.HPAScalingRules
}

// Behavior is the HPA behavior of the pace.
func (p Pace) Behavior() *autoscalingv2.HorizontalPodAutoscalerBehavior {
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: p.Up, ScaleDown: p.Down}
}

// Space is the grid of one worker's knobs. Each dimension is sorted ascending and holds the
// input's own value.
type Space struct {
	Concurrency []int32
	MinReplicas []int32
	MaxReplicas []int32
	// PerThread is listLength divided by concurrency: a change of concurrency keeps how many
	// jobs each thread is allowed to have waiting.
	PerThread []float64
	Paces     []Pace
	// In is the input's knobs.
	In Knobs
}

// Grids of the search. MaxReplicas goes beyond them up to what the Postgres budget allows.
var (
	concurrencyGrid = []int32{5, 10, 15, 20, 25, 30, 40, 50}
	minGrid         = []int32{1, 2, 3, 4, 6, 8}
	maxGrid         = []int32{2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64}
	perThreadGrid   = []float64{2, 4, 8, 15, 30, 60, 120}
)

// paceRules are the scale-up and scale-down halves tune combines, named after the presets
// they come from (the HPA's own default scale-down besides).
func paceRules() (up, down []namedRules) {
	for _, n := range layout.BehaviorPresetNames {
		p := layout.BehaviorPresets[n]
		up = append(up, namedRules{n, p.ScaleUp})
		down = append(down, namedRules{n, p.ScaleDown})
	}
	down = append(down, namedRules{"hpa-default", &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptr.To[int32](300),
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	}})
	return up, down
}

type namedRules struct {
	name  string
	rules *autoscalingv2.HPAScalingRules
}

// paces lists the behaviors a worker may get: its own first ("as written"), then every
// scale-up half with every scale-down half, a preset's own pair named after it.
func paces(own *autoscalingv2.HorizontalPodAutoscalerBehavior) []Pace {
	out := []Pace{{Name: "as written", Up: own.ScaleUp, Down: own.ScaleDown}}
	up, down := paceRules()
	for _, u := range up {
		for _, d := range down {
			p := Pace{Name: u.name + "+" + d.name, Up: u.rules, Down: d.rules}
			if u.name == d.name {
				p.Name, p.Preset = u.name, u.name
			}
			if equality.Semantic.DeepEqual(p.Up, own.ScaleUp) && equality.Semantic.DeepEqual(p.Down, own.ScaleDown) {
				out[0].Name = p.Name + " (as written)"
				continue
			}
			out = append(out, p)
		}
	}
	return out
}

// newSpace is the grid of defaulted, autoscaled worker w whose connections may not exceed
// limit, with at most maxConcurrency threads per process. peakThreads is the oracle's peak thread count for w's queues: a fixed
// pool of that many threads meets the goal whenever start-up does not matter, so minReplicas
// reaches it.
func newSpace(w *layout.Worker, limit int64, peakThreads, maxConcurrency int32) (Space, Knobs) {
	a := w.Autoscale
	in := Knobs{Concurrency: *w.Concurrency, MinReplicas: *a.MinReplicas, MaxReplicas: *a.MaxReplicas,
		ListLength: *a.ListLength}
	s := Space{Paces: paces(a.Behavior), In: in}
	if maxConcurrency <= 0 {
		maxConcurrency = layout.MaxConcurrency
	}
	s.Concurrency = slices.DeleteFunc(grid(concurrencyGrid, in.Concurrency), func(c int32) bool {
		return c > maxConcurrency && c != in.Concurrency
	})
	mins := slices.Clone(minGrid)
	if in.MinReplicas == 0 {
		mins = append(mins, 0) // scale to zero only where the admin chose it
	}
	for _, c := range s.Concurrency {
		mins = append(mins, ceilDiv(peakThreads, c))
	}
	s.MinReplicas = grid(mins, in.MinReplicas)
	maxes := slices.Clone(maxGrid)
	for _, m := range s.MinReplicas {
		maxes = append(maxes, max(m, 1), max(m, 1)+1, 2*max(m, 1))
	}
	s.MaxReplicas = grid(maxes, in.MaxReplicas)
	s.MaxReplicas = slices.DeleteFunc(s.MaxReplicas, func(m int32) bool {
		return m != in.MaxReplicas && int64(m)*int64(slices.Min(s.Concurrency)) > limit
	})
	s.MaxReplicas = slices.DeleteFunc(s.MaxReplicas, func(m int32) bool { return m > layout.MaxReplicasBound })
	s.PerThread = gridF(perThreadGrid, float64(in.ListLength)/float64(in.Concurrency))
	return s, in
}

// valid reports whether k is a layout the rules allow within limit connections.
func (s Space) valid(k Knobs, limit int64) bool {
	return k.MinReplicas <= k.MaxReplicas && k.MaxReplicas >= 1 &&
		k.Connections() <= limit && k.ListLength >= 1
}

func listLength(perThread float64, concurrency int32) int64 {
	return max(1, int64(math.Round(perThread*float64(concurrency))))
}

func ceilDiv(a, b int32) int32 {
	if b <= 0 {
		return a
	}
	return (a + b - 1) / b
}

func grid(values []int32, own int32) []int32 {
	out := append(slices.Clone(values), own)
	slices.Sort(out)
	return slices.Compact(out)
}

func gridF(values []float64, own float64) []float64 {
	out := append(slices.Clone(values), own)
	slices.Sort(out)
	return slices.Compact(out)
}

// apply returns a copy of defaulted worker w with knobs k.
func (s Space) apply(w *layout.Worker, k Knobs) layout.Worker {
	c := *w
	a := *w.Autoscale
	c.Concurrency = ptr.To(k.Concurrency)
	a.MinReplicas, a.MaxReplicas = ptr.To(k.MinReplicas), ptr.To(k.MaxReplicas)
	a.ListLength = ptr.To(k.ListLength)
	p := s.Paces[k.Pace]
	a.Behavior = p.Behavior()
	c.Autoscale = &a
	if k.ListLength != s.In.ListLength {
		// A tuned listLength is the worker's: per-queue ones would override it.
		c.Queues = slices.Clone(w.Queues)
		for i := range c.Queues {
			c.Queues[i].ListLength = nil
		}
	}
	return c
}

func (k Knobs) String() string {
	return fmt.Sprintf("c%d min%d max%d len%d pace%d", k.Concurrency, k.MinReplicas, k.MaxReplicas, k.ListLength, k.Pace)
}
