//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/test/e2e/loop"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What a loop run becomes: the job counts from the job's own log and Redis, the pod series
// from the kubelet's record, and a fixture replayed through the simulator.

// jobLog is what the job's own log says of each job id: how often it started and finished.
type jobCount struct{ starts, dones int }

func (r *loopRun) jobs() map[string]*jobCount {
	out := map[string]*jobCount{}
	paths, _ := filepath.Glob(filepath.Join(r.jobLog, "*.log"))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) != 3 {
				continue
			}
			c := out[fields[1]]
			if c == nil {
				c = &jobCount{}
				out[fields[1]] = c
			}
			switch fields[0] {
			case "start":
				c.starts++
			case "done":
				c.dones++
			}
		}
		_ = f.Close()
	}
	return out
}

// dones counts the finished jobs per scenario.
func (r *loopRun) dones() map[string]int {
	out := map[string]int{}
	for id, c := range r.jobs() {
		name, _, _ := strings.Cut(id, "/")
		if c.dones > 0 {
			out[name]++
		}
	}
	return out
}

// report turns each scenario's run into a fixture, replays it through the simulator, prints
// the LOOP line, runs the scenario's checks, and with -update writes the fixture.
func (r *loopRun) report(t *testing.T) {
	startup, delays := r.startDelay()
	jobs := r.jobs()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			se := r.series[sc.name]
			f := &loop.Fixture{Scenario: sc.name, Source: sc.source, Layout: layoutOf(sc.source), Worker: sc.worker, Seconds: se.end,
				Rig: loop.Rig{HPASyncSeconds: int(platform.HPASyncPeriod / time.Second), StartupSeconds: startup,
					Kubernetes: os.Getenv("RIG_K8S_VERSION"), KEDA: os.Getenv("RIG_KEDA_VERSION"), Sidekiq: sidekiqVersion}}
			for _, a := range sc.trace {
				if a.T < se.end {
					f.Trace = append(f.Trace, a)
				}
			}
			o := &f.Observed
			o.Depth, o.Replicas = se.depth[:se.end], se.replicas[:se.end]
			o.Pods = r.podSeries(sc, se.end)
			for _, p := range se.procs[:se.end] {
				o.Processes = max(o.Processes, p)
			}
			o.StartDelays = delays[sc.source+"/"+sc.worker]
			o.StopDelays = r.stopDelays(sc)
			r.mu.Lock()
			o.HPASyncs = r.since(r.hpaSyncs[r.rel(sc).ns+"/keda-hpa-"+deployName(sc)], se.end)
			o.KEDAPolls = r.since(r.soPolls[r.rel(sc).ns+"/"+deployName(sc)], se.end)
			r.mu.Unlock()
			r.countJobs(t, sc, jobs, o)
			a, err := loop.Compare(f, loopDir)
			require.NoError(t, err)
			fmt.Println(a.Line())
			t.Log(a.Line())
			assert.True(t, a.OK(), "%s: the simulator disagrees with the run: %s", sc.name, a.Problem())
			assert.Zero(t, o.Lost, "jobs lost")
			assert.Zero(t, o.Duplicates, "jobs performed twice")
			sc.check(t, r, sc, o)
			// Every run's fixtures are kept with the logs (RIG_KEEP=1); -update makes them the
			// committed ones.
			require.NoError(t, os.MkdirAll(filepath.Join(platform.Dir, "loop-fixtures"), 0o755))
			require.NoError(t, f.Save(filepath.Join(platform.Dir, "loop-fixtures")))
			if testutil.Update() {
				require.NoError(t, f.Save(loopDir))
			}
		})
	}
}

// since lists the times within the window as seconds from t0 (0.1 s); hold r.mu.
func (r *loopRun) since(times []time.Time, end int) []float64 {
	var out []float64
	for _, at := range times {
		if d := at.Sub(r.t0).Seconds(); d >= 0 && d < float64(end) {
			out = append(out, math.Round(d*10)/10)
		}
	}
	return out
}

// sidekiqVersion is Debian bookworm's ruby-sidekiq, which rig.sh installs.
const sidekiqVersion = "6.4.1"

// podSeries counts, for each second of the window, the scenario's pods that existed during it.
func (r *loopRun) podSeries(sc scenario, seconds int) []int32 {
	out := make([]int32, seconds)
	for _, rec := range r.rel(sc).kubelet.Records() {
		if rec.Component != "sidekiq-"+sc.worker {
			continue
		}
		for s := range out {
			from, to := r.t0.Add(time.Duration(s)*time.Second), r.t0.Add(time.Duration(s+1)*time.Second)
			if rec.Created.Before(to) && (rec.Gone.IsZero() || rec.Gone.After(from)) {
				out[s]++
			}
		}
	}
	return out
}

// startDelay is the mean time from a pod's creation to its process registering, over the pods
// created during the run, and the delays of each release's worker (by "<source>/<worker>").
func (r *loopRun) startDelay() (float64, map[string][]float64) {
	var sum float64
	var n int
	per := map[string][]float64{}
	for _, rel := range r.releases {
		for _, rec := range rel.kubelet.Records() {
			if rec.Created.Before(r.t0) || rec.Ready.IsZero() {
				continue
			}
			d := rec.Ready.Sub(rec.Created).Seconds()
			sum += d
			n++
			key := rel.source + "/" + strings.TrimPrefix(rec.Component, "sidekiq-")
			per[key] = append(per[key], math.Round(d*10)/10)
		}
	}
	if n == 0 {
		return 0, per
	}
	return math.Round(sum/float64(n)*10) / 10, per
}

// stopDelays are the seconds from each deleted pod's deletion to its removal.
func (r *loopRun) stopDelays(sc scenario) []float64 {
	var out []float64
	for _, rec := range r.rel(sc).kubelet.Records() {
		if rec.Component == "sidekiq-"+sc.worker && !rec.Deleting.IsZero() && !rec.Gone.IsZero() && rec.Deleting.After(r.t0) {
			out = append(out, math.Round(rec.Gone.Sub(rec.Deleting).Seconds()*10)/10)
		}
	}
	return out
}

// countJobs fills in the job counts of a scenario from the job log and Redis: every job id
// pushed must have finished exactly once; one that started more often was interrupted by a
// stopping process and requeued by Sidekiq.
func (r *loopRun) countJobs(t *testing.T, sc scenario, jobs map[string]*jobCount, o *loop.Observed) {
	r.mu.Lock()
	o.Jobs = r.pushed[sc.name]
	r.mu.Unlock()
	for i := range o.Jobs {
		c := jobs[fmt.Sprintf("%s/%d", sc.name, i)]
		switch {
		case c == nil || c.dones == 0:
			o.Lost++
		case c.dones > 1:
			o.Duplicates++
		}
		if c != nil && c.starts > c.dones {
			o.Requeued += c.starts - c.dones
		}
	}
	ctx := context.Background()
	rel := r.rel(sc)
	for _, q := range r.queues(sc) {
		n, err := rel.client.LLen(ctx, "queue:"+q).Result()
		assert.NoError(t, err)
		assert.Zero(t, n, "queue:%s must be empty at the end", q)
	}
	for _, set := range []string{"retry", "dead"} {
		n, err := rel.client.ZCard(ctx, set).Result()
		assert.NoError(t, err)
		assert.Zero(t, n, "Sidekiq's %s set must be empty", set)
	}
}

func deref32(p *int32) int32 {
	if p == nil {
		return 1 // the API default
	}
	return *p
}
