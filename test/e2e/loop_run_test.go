//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/test/e2e/loop"
	"github.com/mastoscale/mastoscale/test/e2e/rig"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// maxLoopSeconds bounds the driven part of the loop: every scenario must be done by then.
const maxLoopSeconds = 420

// settleSeconds are recorded after a scenario is done, so the window ends at rest.
const settleSeconds = 3

type loopRun struct {
	releases map[string]*release
	jobLog   string // LOOP_JOB_LOG: one log per Sidekiq process
	t0       time.Time
	series   map[string]*series     // by scenario
	pushed   map[string]int         // jobs pushed per scenario
	hpaSyncs map[string][]time.Time // namespace/name of an HPA -> when its status changed
	soPolls  map[string][]time.Time // namespace/name of a ScaledObject -> when its status changed
	mu       sync.Mutex
}

type release struct {
	source, ns string
	db         int
	redis      *rig.Redis
	client     *redis.Client
	plan       *copyPlan
	kubelet    *rig.Kubelet
}

// series is one scenario's samples, one per second from t0.
type series struct {
	depth    []int64
	replicas []int32
	procs    []int
	restFrom int // first second of the current run of done-and-at-rest samples; -1: none
	end      int // seconds recorded; 0 while running
}

func newRun(t *testing.T, ctx context.Context) *loopRun {
	dir := filepath.Join(platform.Dir, "loop-jobs") // kept with the other logs under RIG_KEEP=1
	require.NoError(t, os.MkdirAll(dir, 0o755))
	r := &loopRun{releases: map[string]*release{}, jobLog: dir, series: map[string]*series{}, pushed: map[string]int{},
		hpaSyncs: map[string][]time.Time{}, soPolls: map[string][]time.Time{}}
	r.watchHPAs(t, ctx)
	r.watchScaledObjects(t, ctx)
	return r
}

// watchScaledObjects records when each ScaledObject's status changes: KEDA's scale loop writes
// it on the polls that change it (every poll of an active ScaledObject moves lastActiveTime).
func (r *loopRun) watchScaledObjects(t *testing.T, ctx context.Context) {
	dyn, err := dynamic.NewForConfig(platform.Config)
	require.NoError(t, err)
	f := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0)
	inf := f.ForResource(schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}).Informer()
	_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: func(old, cur any) {
		o, ok1 := old.(*unstructured.Unstructured)
		c, ok2 := cur.(*unstructured.Unstructured)
		if !ok1 || !ok2 || equality.Semantic.DeepEqual(o.Object["status"], c.Object["status"]) {
			return
		}
		r.mu.Lock()
		key := c.GetNamespace() + "/" + c.GetName()
		r.soPolls[key] = append(r.soPolls[key], time.Now())
		r.mu.Unlock()
	}})
	require.NoError(t, err)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	f.Start(stop)
	require.True(t, cache.WaitForCacheSync(ctx.Done(), inf.HasSynced))
}

// watchHPAs records when each HPA's status changes: only the HPA controller writes it, once per
// sync in which anything it reports changed.
func (r *loopRun) watchHPAs(t *testing.T, ctx context.Context) {
	cs, err := kubernetes.NewForConfig(platform.Config)
	require.NoError(t, err)
	f := informers.NewSharedInformerFactory(cs, 0)
	inf := f.Autoscaling().V2().HorizontalPodAutoscalers().Informer()
	_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: func(old, cur any) {
		o, ok1 := old.(*autoscalingv2.HorizontalPodAutoscaler)
		c, ok2 := cur.(*autoscalingv2.HorizontalPodAutoscaler)
		if !ok1 || !ok2 || equality.Semantic.DeepEqual(o.Status, c.Status) {
			return
		}
		r.mu.Lock()
		r.hpaSyncs[c.Namespace+"/"+c.Name] = append(r.hpaSyncs[c.Namespace+"/"+c.Name], time.Now())
		r.mu.Unlock()
	}})
	require.NoError(t, err)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	f.Start(stop)
	require.True(t, cache.WaitForCacheSync(ctx.Done(), inf.HasSynced))
}

// registered reports whether a Sidekiq process with identity <pod>:<pid>:<nonce> is in the
// release's `processes` set.
func (rel *release) registered(ctx context.Context, pod string, pid int) (bool, error) {
	members, err := rel.client.SMembers(ctx, "processes").Result()
	if err != nil {
		return false, err
	}
	prefix := fmt.Sprintf("%s:%d:", pod, pid)
	for _, m := range members {
		if strings.HasPrefix(m, prefix) {
			return true, nil
		}
	}
	return false, nil
}

func (r *loopRun) rel(sc scenario) *release { return r.releases[sc.source] }

func deployName(sc scenario) string { return releaseName + "-sidekiq-" + sc.worker }

func (r *loopRun) queues(sc scenario) []string {
	var qs []string
	for _, a := range sc.trace {
		if !contains(qs, a.Queue) {
			qs = append(qs, a.Queue)
		}
	}
	return qs
}

// live counts the scenario's pods that exist, are Ready, and run a process now.
func (r *loopRun) live(sc scenario) (pods, ready, procs int) {
	for _, rec := range r.rel(sc).kubelet.Records() {
		if rec.Component != "sidekiq-"+sc.worker || !rec.Gone.IsZero() {
			continue
		}
		pods++
		if !rec.Ready.IsZero() {
			ready++
		}
		if rec.PID > 0 && rec.Exited.IsZero() {
			procs++
		}
	}
	return pods, ready, procs
}

func (r *loopRun) hpa(t *testing.T, source, worker string) *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{}
	err := platform.Client.Get(context.Background(), client.ObjectKey{Namespace: r.releases[source].ns, Name: "keda-hpa-" + releaseName + "-sidekiq-" + worker}, h)
	if err != nil {
		t.Errorf("HPA of %s: %v", worker, err)
		return nil
	}
	return h
}

// waitSteady waits until every scenario's worker sits at its initial count with its pods Ready,
// and each running autoscaled worker's HPA has read its metrics through the aggregation layer.
func (r *loopRun) waitSteady(t *testing.T, ctx context.Context) {
	for _, sc := range scenarios {
		rel := r.rel(sc)
		scaled := false
		for _, so := range rel.plan.SOs {
			scaled = scaled || so.Name == deployName(sc)
		}
		eventually(t, 4*time.Minute, time.Second, sc.name+": steady before the trace", func() (bool, string) {
			dep := &appsv1.Deployment{}
			if err := platform.Client.Get(ctx, client.ObjectKey{Namespace: rel.ns, Name: deployName(sc)}, dep); err != nil {
				return false, err.Error()
			}
			pods, ready, _ := r.live(sc)
			state := fmt.Sprintf("replicas %d, pods %d, ready %d (want %d)", deref32(dep.Spec.Replicas), pods, ready, sc.initial)
			if deref32(dep.Spec.Replicas) != sc.initial || pods != int(sc.initial) || ready != int(sc.initial) {
				return false, state
			}
			if !scaled {
				return true, state
			}
			so := &kedav1alpha1.ScaledObject{}
			if err := platform.Client.Get(ctx, client.ObjectKey{Namespace: rel.ns, Name: deployName(sc)}, so); err != nil {
				return false, err.Error()
			}
			if ready := so.Status.Conditions.GetReadyCondition(); !ready.IsTrue() {
				return false, state + "; ScaledObject " + conditions(so)
			}
			h := &autoscalingv2.HorizontalPodAutoscaler{}
			if err := platform.Client.Get(ctx, client.ObjectKey{Namespace: rel.ns, Name: "keda-hpa-" + deployName(sc)}, h); err != nil {
				return false, state + "; " + err.Error()
			}
			if sc.initial > 0 && len(h.Status.CurrentMetrics) != len(h.Spec.Metrics) {
				return false, fmt.Sprintf("%s; HPA has read %d of %d metrics: %v", state, len(h.Status.CurrentMetrics), len(h.Spec.Metrics), h.Status.Conditions)
			}
			return true, state
		})
	}
}

// drive pushes every scenario's trace from one common start and samples every second until
// each scenario is done and at rest.
func (r *loopRun) drive(t *testing.T, ctx context.Context) {
	r.t0 = time.Now().Truncate(time.Second).Add(time.Second)
	var wg sync.WaitGroup
	for _, sc := range scenarios {
		r.series[sc.name] = &series{restFrom: -1}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.push(ctx, sc); err != nil {
				t.Errorf("%s: pushing: %v", sc.name, err)
			}
		}()
	}
	for s := 0; s < maxLoopSeconds; s++ {
		time.Sleep(time.Until(r.t0.Add(time.Duration(s)*time.Second + 500*time.Millisecond)))
		done := r.dones()
		running := 0
		for _, sc := range scenarios {
			if se := r.series[sc.name]; se.end == 0 {
				r.sample(ctx, t, sc, se, s, done)
				if se.end == 0 {
					running++
				}
			}
		}
		if running == 0 {
			break
		}
	}
	wg.Wait()
	for _, sc := range scenarios {
		if r.series[sc.name].end == 0 {
			t.Errorf("%s: not done within %d s", sc.name, maxLoopSeconds)
			r.series[sc.name].end = len(r.series[sc.name].depth)
		}
	}
}

func (r *loopRun) sample(ctx context.Context, t *testing.T, sc scenario, se *series, s int, done map[string]int) {
	rel := r.rel(sc)
	var depth int64
	for _, q := range r.queues(sc) {
		n, err := rel.client.LLen(ctx, "queue:"+q).Result()
		if err != nil {
			t.Errorf("%s: LLEN queue:%s: %v", sc.name, q, err)
		}
		depth += n
	}
	dep := &appsv1.Deployment{}
	if err := platform.Client.Get(ctx, client.ObjectKey{Namespace: rel.ns, Name: deployName(sc)}, dep); err != nil {
		t.Errorf("%s: %v", sc.name, err)
	}
	pods, _, procs := r.live(sc)
	se.depth = append(se.depth, depth)
	se.replicas = append(se.replicas, deref32(dep.Spec.Replicas))
	se.procs = append(se.procs, procs)
	r.mu.Lock()
	pushed := r.pushed[sc.name]
	r.mu.Unlock()
	total := 0
	for _, a := range sc.trace {
		total += int(a.Jobs)
	}
	last := 0
	for _, a := range sc.trace {
		last = max(last, a.T)
	}
	// Done: every job finished and the worker back at its final count; recorded for
	// settleSeconds more so the window ends at rest.
	if s >= last && pushed == total && depth == 0 && done[sc.name] >= total &&
		deref32(dep.Spec.Replicas) == sc.final && pods == int(sc.final) && procs == int(sc.final) {
		if se.restFrom < 0 {
			se.restFrom = s
		}
		if s-se.restFrom >= settleSeconds {
			se.end = s + 1
		}
		return
	}
	se.restFrom = -1
}

// push pushes the scenario's jobs at their seconds, as Sidekiq's client does: SADD queues and
// LPUSH of the job's JSON in one MULTI.
func (r *loopRun) push(ctx context.Context, sc scenario) error {
	arr := append([]loop.Arrival(nil), sc.trace...)
	sort.SliceStable(arr, func(i, j int) bool { return arr[i].T < arr[j].T })
	rel := r.rel(sc)
	n := 0
	for _, a := range arr {
		time.Sleep(time.Until(r.t0.Add(time.Duration(a.T) * time.Second)))
		now := float64(time.Now().UnixNano()) / 1e9
		payloads := make([]any, 0, a.Jobs)
		for range a.Jobs {
			jid := make([]byte, 12)
			_, _ = rand.Read(jid)
			job := map[string]any{"class": "LoopJob", "queue": a.Queue, "args": []any{fmt.Sprintf("%s/%d", sc.name, n), a.Service},
				"jid": hex.EncodeToString(jid), "retry": false, "created_at": now, "enqueued_at": now}
			b, err := json.Marshal(job)
			if err != nil {
				return err
			}
			payloads = append(payloads, string(b))
			n++
		}
		if _, err := rel.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SAdd(ctx, "queues", a.Queue)
			p.LPush(ctx, "queue:"+a.Queue, payloads...)
			return nil
		}); err != nil {
			return err
		}
		r.mu.Lock()
		r.pushed[sc.name] += int(a.Jobs)
		r.mu.Unlock()
	}
	return nil
}

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
			o.StartDelays = delays[sc.worker]
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
// created during the run, and each worker's delays.
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
			w := strings.TrimPrefix(rec.Component, "sidekiq-")
			per[w] = append(per[w], math.Round(d*10)/10)
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
