//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/mastoscale/mastoscale/test/e2e/loop"
	"github.com/mastoscale/mastoscale/test/e2e/rig"
	"github.com/redis/go-redis/v9"
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
