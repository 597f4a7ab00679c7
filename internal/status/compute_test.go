package status

import (
	"strings"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/ptr"
)

func TestWorkerReplicas(t *testing.T) {
	autoscaled := func(minR, maxR int32, listLength int64, activation *int64, queues ...layout.Queue) layout.Worker {
		return layout.Worker{Name: "w", Concurrency: ptr.To[int32](10), Queues: queues, Autoscale: &layout.Autoscale{
			MinReplicas: ptr.To(minR), MaxReplicas: ptr.To(maxR), ListLength: ptr.To(listLength), ActivationListLength: activation,
		}}
	}
	q := func(name string) layout.Queue { return layout.Queue{Name: name} }
	for name, tc := range map[string]struct {
		worker       layout.Worker
		backlog      map[string]int64
		replicas     int32
		demand       int32
		targets      string
		connections  int64
		isAutoscaled bool
	}{
		"over one listLength asks for two":     {autoscaled(1, 4, 1500, nil, q("ingress")), map[string]int64{"ingress": 1567}, 2, 2, "1567/1500", 20, true},
		"exactly one listLength is one":        {autoscaled(1, 4, 1500, nil, q("ingress")), map[string]int64{"ingress": 1500}, 1, 1, "1500/1500", 10, true},
		"empty stays at minReplicas":           {autoscaled(2, 4, 1500, nil, q("ingress")), nil, 2, 0, "0/1500", 20, true},
		"clamped to maxReplicas":               {autoscaled(1, 4, 100, nil, q("ingress")), map[string]int64{"ingress": 1000}, 4, 10, "1000/100", 40, true},
		"max over triggers":                    {autoscaled(1, 8, 100, nil, q("push"), layout.Queue{Name: "pull", ListLength: ptr.To[int64](10)}), map[string]int64{"push": 150, "pull": 55}, 6, 6, "150/100,55/10", 60, true},
		"min 0 and empty scales to zero":       {autoscaled(0, 4, 1500, nil, q("mailers")), nil, 0, 0, "0/1500", 0, true},
		"min 0 and one job wakes one":          {autoscaled(0, 4, 1500, nil, q("mailers")), map[string]int64{"mailers": 1}, 1, 1, "1/1500", 10, true},
		"min 0 under activation stays at zero": {autoscaled(0, 4, 1500, ptr.To[int64](50), q("mailers")), map[string]int64{"mailers": 50}, 0, 1, "50/1500", 0, true},
		"min 0 over activation":                {autoscaled(0, 4, 1500, ptr.To[int64](50), q("mailers")), map[string]int64{"mailers": 51}, 1, 1, "51/1500", 10, true},
		"activation does not cap min 1":        {autoscaled(1, 4, 100, ptr.To[int64](5000), q("mailers")), map[string]int64{"mailers": 350}, 4, 4, "350/100", 40, true},
		"fixed replicas":                       {layout.Worker{Name: "w", Concurrency: ptr.To[int32](5), Replicas: ptr.To[int32](1), Queues: []layout.Queue{q("scheduler")}}, map[string]int64{"scheduler": 99}, 1, 1, "", 5, false},
	} {
		t.Run(name, func(t *testing.T) {
			ws, demand := WorkerReplicas(&tc.worker, func(q string) int64 { return tc.backlog[q] })
			assert.Equal(t, tc.replicas, ws.Replicas, "replicas")
			assert.Equal(t, tc.demand, demand, "demand")
			assert.Equal(t, tc.connections, ws.Connections, "connections")
			assert.Equal(t, tc.isAutoscaled, ws.Autoscaled)
			var targets []string
			for _, tg := range ws.Targets {
				targets = append(targets, tg.String())
			}
			assert.Equal(t, tc.targets, join(targets))
		})
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

func TestArrivals(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	proc := Process{Identity: "a", Concurrency: 10, Queues: []string{"default", "push"}}
	for name, tc := range map[string]struct {
		prev, cur map[string]QueueSample
		processed int64 // increase of stat:processed
		want      map[string]int64
	}{
		"marker found: exactly the jobs in front of it": {
			prev:      map[string]QueueSample{"default": {Backlog: 100, Head: "j100"}},
			cur:       map[string]QueueSample{"default": {Backlog: 120, MarkerIndex: 30}},
			processed: 10,
			want:      map[string]int64{"default": 30},
		},
		"drained queue gets the unexplained processed jobs": {
			prev:      map[string]QueueSample{"default": {Backlog: 100, Head: "j"}, "push": {Backlog: 5, Head: "p"}},
			cur:       map[string]QueueSample{"default": {Backlog: 120, MarkerIndex: 30}, "push": {Backlog: 2, MarkerIndex: -1}},
			processed: 10 + 5 + 7, // default fetched 10, push's old 5 and 7 more that came and went
			want:      map[string]int64{"default": 30, "push": 2 + 7},
		},
		"split by busy threads": {
			prev:      map[string]QueueSample{"default": {Busy: 3}, "push": {Busy: 1}},
			cur:       map[string]QueueSample{"default": {MarkerIndex: -1, Busy: 3}, "push": {MarkerIndex: -1, Busy: 1}},
			processed: 40,
			want:      map[string]int64{"default": 30, "push": 10},
		},
		"nobody busy: split by threads that can fetch": {
			prev:      map[string]QueueSample{"default": {}, "push": {}, "mailers": {}},
			cur:       map[string]QueueSample{"default": {MarkerIndex: -1}, "push": {MarkerIndex: -1}, "mailers": {MarkerIndex: -1}},
			processed: 9,
			want:      map[string]int64{"default": 5, "push": 4, "mailers": 0},
		},
		"counter reset never goes negative": {
			prev:      map[string]QueueSample{"default": {}},
			cur:       map[string]QueueSample{"default": {Backlog: 3, MarkerIndex: -1}},
			processed: -1000,
			want:      map[string]int64{"default": 3},
		},
	} {
		t.Run(name, func(t *testing.T) {
			prev := &Snapshot{Time: t0, Queues: tc.prev, Processed: 1000, Processes: []Process{proc}}
			cur := &Snapshot{Time: t0.Add(time.Second), Queues: tc.cur, Processed: 1000 + tc.processed, Processes: []Process{proc}}
			assert.Equal(t, tc.want, Arrivals(prev, cur))
		})
	}
}

func TestApportion(t *testing.T) {
	assert.Equal(t, []int64{4, 3, 3}, apportion(10, []float64{1, 1, 1}, 3))
	assert.Equal(t, []int64{7, 0}, apportion(7, []float64{2, 0}, 2))
	assert.Equal(t, []int64{0, 0}, apportion(0, []float64{1, 1}, 2))
}

func TestProcessWarningsGrouped(t *testing.T) {
	l := &layout.SidekiqLayout{Spec: layout.Spec{Workers: []layout.Worker{
		{Name: "default", Concurrency: ptr.To[int32](20), Queues: []layout.Queue{{Name: "default"}}},
	}}}
	procs := []Process{
		{Identity: "a", Concurrency: 25, Queues: []string{"default"}},
		{Identity: "b", Concurrency: 25, Queues: []string{"default"}},
		{Identity: "c", Concurrency: 20, Queues: []string{"default"}},
		{Identity: "d", Concurrency: 25, Queues: []string{"default", "push"}},
		{Identity: "e", Concurrency: 25, Queues: []string{"default"}},
		{Identity: "f", Concurrency: 25, Queues: []string{"default"}},
	}
	assert.Equal(t, []string{
		`4 processes a, b, e and 1 more (worker "default") run 25 threads but the layout says 20`,
		`process d consumes [default push], the queue set of no worker of the layout`,
	}, processWarnings(l, procs))
}

func TestTraceWriter(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	var out strings.Builder
	tw, err := NewTraceWriter(&out, t0, 100, true)
	require.NoError(t, err)
	prev := &Snapshot{Time: t0, Queues: map[string]QueueSample{"ingress": {Backlog: 50, Head: "j"}, "push": {}}}
	cur := &Snapshot{Time: t0.Add(4 * time.Second), Queues: map[string]QueueSample{"ingress": {Backlog: 55, MarkerIndex: 10}, "push": {MarkerIndex: -1}}}
	require.NoError(t, tw.Write(prev, cur))
	require.NoError(t, tw.Outage(t0.Add(4*time.Second), t0.Add(6*time.Second)))
	assert.Equal(t, `time,queue,enqueued
100,ingress,2
100,push,0
101,ingress,3
101,push,0
102,ingress,2
102,push,0
103,ingress,3
103,push,0
104,@redis-down,1
105,@redis-down,1
`, out.String(), "10 arrivals in 4 s spread evenly; times continue from the offset")

	end, err := TraceEnd(strings.NewReader(out.String()))
	require.NoError(t, err)
	assert.Equal(t, int64(106), end)
	end, err = TraceEnd(strings.NewReader(""))
	require.NoError(t, err)
	assert.Equal(t, int64(0), end)
	_, err = TraceEnd(strings.NewReader("time,queue,enqueued\nsoon,default,1\n"))
	assert.ErrorContains(t, err, `line 2: time "soon" is not whole seconds`)
}

func TestComputeWarnsAtMaxReplicasOnly(t *testing.T) {
	l := &layout.SidekiqLayout{Spec: layout.Spec{Workers: []layout.Worker{
		{Name: "ingress", Concurrency: ptr.To[int32](25), Queues: []layout.Queue{{Name: "ingress"}}, Autoscale: &layout.Autoscale{
			MinReplicas: ptr.To[int32](1), MaxReplicas: ptr.To[int32](4), ListLength: ptr.To[int64](1500)}},
		{Name: "mailers", Concurrency: ptr.To[int32](10), Queues: []layout.Queue{{Name: "mailers"}}, Autoscale: &layout.Autoscale{
			MinReplicas: ptr.To[int32](0), MaxReplicas: ptr.To[int32](2), ListLength: ptr.To[int64](100), ActivationListLength: ptr.To[int64](50)}},
		{Name: "scheduler", Concurrency: ptr.To[int32](5), Queues: []layout.Queue{{Name: "scheduler"}}},
	}}}
	procs := []Process{{Identity: "i", Concurrency: 25, Queues: []string{"ingress"}}, {Identity: "m", Concurrency: 10, Queues: []string{"mailers"}},
		{Identity: "s", Concurrency: 5, Queues: []string{"scheduler"}}}
	snap := &Snapshot{Queues: map[string]QueueSample{"ingress": {Backlog: 7000}, "mailers": {Backlog: 50}}, Processes: procs}
	st := Compute(snap, l)
	assert.Equal(t, []string{`worker "ingress": its backlog asks for 5 replicas but maxReplicas is 4: each pod carries more than listLength jobs until it drains`}, st.Warnings,
		"a worker held at zero by its activation threshold is not over its maximum")
	assert.Equal(t, int32(4), st.Workers[0].Replicas)
	assert.Equal(t, int32(0), st.Workers[1].Replicas)
}
