//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/cli"
	"github.com/mastoscale/mastoscale/test/e2e/loop"
	"github.com/mastoscale/mastoscale/test/e2e/rig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The loop scenarios (make e2e-loop): the official chart (mastodon/helm-charts 1.0.2) rendered
// by the real helm, turned into split, autoscaled workers by mastoscale, applied to the rig with
// the real HPA, Deployment and ReplicaSet controllers and KEDA's metrics apiserver, and one
// real Sidekiq process per pod. Each scenario pushes a trace of jobs, records what happened
// second by second, counts every job from Redis and the job's own log, and replays the same
// layout and trace through the simulator (test/e2e/loop).

const (
	loopDir     = "loop/testdata" // layout, job class and the recorded fixtures
	loopLayout  = "layout.yaml"
	chartDir    = "mastodon-helm-charts-1.0.2"
	releaseName = "mastodon"
)

// scenario is one worker driven by one trace; its layout is the release's (loopLayout unless
// the source is attach).
type scenario struct {
	name, source, worker string
	trace                []loop.Arrival
	initial, final       int32 // pods before the trace, and when it is done
	check                func(t *testing.T, r *loopRun, sc scenario, o *loop.Observed)
}

// burst is n jobs a second for secs seconds.
func burst(queue string, from, secs int, n int32, service float64) []loop.Arrival {
	var out []loop.Arrival
	for s := from; s < from+secs; s++ {
		out = append(out, loop.Arrival{T: s, Queue: queue, Jobs: n, Service: service})
	}
	return out
}

// every is n jobs at every period seconds from `from` to `to`.
func every(queue string, from, to, period int, n int32, service float64) []loop.Arrival {
	var out []loop.Arrival
	for s := from; s < to; s += period {
		out = append(out, loop.Arrival{T: s, Queue: queue, Jobs: n, Service: service})
	}
	return out
}

var scenarios = []scenario{
	{name: "burst", source: "post-render", worker: "default", initial: 1, final: 1,
		trace: burst("default", 0, 20, 20, 1), check: checkBurst},
	{name: "scale-in", source: "post-render", worker: "ingress", initial: 1, final: 1,
		trace: burst("ingress", 0, 1, 24, 20), check: checkScaleIn},
	{name: "push-pull", source: "render", worker: "push-pull", initial: 1, final: 1,
		trace: append(burst("push", 0, 1, 30, 2), burst("pull", 0, 1, 30, 2)...), check: checkPushPull},
	// The job comes at 15 s: the drain (from the start) is then long enough for the 15% bound to
	// exceed the replay's one-second resolution.
	{name: "scale-to-zero", source: "post-render", worker: "mailers", initial: 0, final: 0,
		trace: burst("mailers", 15, 1, 1, 2), check: checkScaleToZero},
	{name: "scheduler", source: "post-render", worker: "scheduler", initial: 1, final: 1,
		trace: every("scheduler", 0, 120, 10, 1, 0.5), check: checkScheduler},
	// attach: the chart's own Deployments, with ScaledObjects attached by post-render
	{name: "attach-burst", source: "attach", worker: "default", initial: 1, final: 1,
		trace: burst("default", 0, 10, 10, 1), check: checkAttachBurst},
	{name: "attach-scheduler", source: "attach", worker: "rest", initial: 1, final: 1,
		trace: every("scheduler", 0, 90, 10, 1, 0.5), check: checkScheduler},
}

// layoutOf is the layout file (in loopDir) a source's release is rendered with.
func layoutOf(source string) string {
	if source == "attach" {
		return "attach-layout.yaml"
	}
	return loopLayout
}

func TestLoop(t *testing.T) {
	if !platform.Controllers() {
		t.Fatal("the loop needs the rig's controllers: run it with `make e2e-loop` (RIG_LOOP=1 test/e2e/rig.sh loop)")
	}
	ctx := context.Background()
	root, err := repoRoot()
	require.NoError(t, err)
	chart := filepath.Join(root, "..", "shared", "charts", chartDir)
	if _, err := os.Stat(chart); err != nil {
		msg := fmt.Sprintf("the official chart %s is not there (../shared/charts)", chart)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	helm := os.Getenv("MASTOSCALE_HELM3")
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("MASTOSCALE_HELM3=%q: the loop renders the chart with the real helm 3 (make tools builds it)", helm)
	}
	t0 := time.Now()
	r := newRun(t, ctx)
	for _, src := range []string{"post-render", "render", "attach"} {
		r.release(t, ctx, src, renderRelease(t, helm, chart, src))
	}
	r.waitSteady(t, ctx)
	t.Logf("loop: releases applied and steady in %s", time.Since(t0).Round(time.Second))
	r.drive(t, ctx)
	r.report(t)
}

// renderRelease is the release a source applies: the chart rendered by helm and post-rendered
// with the loop's layout (split: the layout's workers replace the chart's); for render, render's
// KEDA objects with post-render's Deployments (the standalone render is to stop emitting
// Deployments: the chart's own come from post-render); for attach, the chart rendered with two
// workers of its own and post-rendered with a layout of the same workers, which attaches.
func renderRelease(t *testing.T, helm, chart, source string) []byte {
	t.Helper()
	var chartOut, stderr bytes.Buffer
	args := []string{"template", releaseName, chart, "-n", "mastodon", "-f", filepath.Join(chart, "ci", "default-values.yaml")}
	if source == "attach" {
		args = append(args, "-f", filepath.Join(loopDir, "attach-values.yaml"))
	}
	cmd := exec.Command(helm, args...)
	cmd.Stdout, cmd.Stderr = &chartOut, &stderr
	require.NoError(t, cmd.Run(), "helm template: %s", stderr.String())
	layoutPath := filepath.Join(loopDir, layoutOf(source))
	post := mastoscale(t, chartOut.Bytes(), "post-render", "-f", layoutPath)
	if source != "render" {
		return post
	}
	rendered := mastoscale(t, nil, "render", "-f", layoutPath)
	var b bytes.Buffer
	b.Write(keep(t, post, func(kind string) bool { return kind != "ScaledObject" && kind != "TriggerAuthentication" }))
	b.WriteString("\n---\n")
	b.Write(keep(t, rendered, func(kind string) bool { return kind == "ScaledObject" || kind == "TriggerAuthentication" }))
	return b.Bytes()
}

// mastoscale runs the CLI in-process, as `mastoscale args...` with stdin in.
func mastoscale(t *testing.T, in []byte, args ...string) []byte {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(args, cli.Streams{In: bytes.NewReader(in), Out: &out, ErrOut: &errOut})
	require.Zero(t, code, "mastoscale %s: %s", strings.Join(args, " "), errOut.String())
	return out.Bytes()
}

// keep returns the documents of a stream whose kind passes.
func keep(t *testing.T, stream []byte, pass func(kind string) bool) []byte {
	t.Helper()
	g, err := parseGolden("stream", stream)
	require.NoError(t, err)
	var b bytes.Buffer
	for _, o := range g.Objects {
		if !pass(o.GetKind()) {
			continue
		}
		data, err := o.MarshalJSON()
		require.NoError(t, err)
		b.Write(data)
		b.WriteString("\n---\n")
	}
	return b.Bytes()
}

// release applies one source's objects (the rig's test copy of them) into a namespace of its
// own, in a Redis database of its own, and starts the kubelet for its scenarios' workers.
func (r *loopRun) release(t *testing.T, ctx context.Context, source string, stream []byte) {
	t.Helper()
	ns := "loop-" + source
	db := len(r.releases) + 1
	g, err := parseGolden("loop/"+source, stream)
	require.NoError(t, err)
	var workers []string
	for _, sc := range scenarios {
		if sc.source == source {
			workers = append(workers, "sidekiq-"+sc.worker)
		}
	}
	// Only the scenarios' Deployments (and what they reference): the other workers of a render
	// release would run without their ScaledObjects.
	var objs []*unstructured.Unstructured
	kept := map[string]bool{}
	for _, o := range g.Objects {
		if o.GetKind() == "Deployment" {
			if !contains(workers, o.GetLabels()["app.kubernetes.io/component"]) {
				continue
			}
			kept[o.GetName()] = true
		}
		objs = append(objs, o)
	}
	objs = slices.DeleteFunc(objs, func(o *unstructured.Unstructured) bool {
		target, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
		return o.GetKind() == "ScaledObject" && !kept[target]
	})
	g.Objects = objs
	require.NoError(t, platform.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	p, err := planCopy(g, ns, db, platform)
	require.NoError(t, err, source)
	for _, o := range p.Copy {
		require.NoError(t, apply(ctx, o, false), "%s: %s %s", source, o.GetKind(), o.GetName())
	}
	redisSrv := platform.Redis
	for _, so := range p.SOs {
		require.True(t, so.Driven, "%s: ScaledObject %s: %s", source, so.Name, so.Why)
		redisSrv = so.Triggers[0].Redis
	}
	rel := &release{source: source, ns: ns, db: db, redis: redisSrv, plan: p}
	rel.client = redisSrv.ClientDB(db)
	t.Cleanup(func() { _ = rel.client.Close() })
	jobs, err := filepath.Abs(filepath.Join(loopDir, "jobs.rb"))
	require.NoError(t, err)
	k, err := platform.StartKubelet(ctx, rig.KubeletOptions{
		Namespace:  ns,
		Selector:   fmt.Sprintf("app.kubernetes.io/component in (%s)", strings.Join(workers, ",")),
		RedisURL:   redisURL(redisSrv, db),
		Require:    jobs,
		Env:        []string{"LOOP_JOB_LOG=" + r.jobLog},
		Registered: rel.registered,
	})
	require.NoError(t, err)
	t.Cleanup(k.Stop)
	rel.kubelet = k
	r.releases[source] = rel
	t.Logf("loop: %s -> namespace %s (Redis %s db %d): %d objects, %d ScaledObjects, kubelet for %v",
		source, ns, redisSrv.Addr, db, len(p.Copy), len(p.SOs), workers)
}

func redisURL(s *rig.Redis, db int) string {
	if s.Password != "" {
		return fmt.Sprintf("redis://:%s@%s/%d", s.Password, s.Addr, db)
	}
	return fmt.Sprintf("redis://%s/%d", s.Addr, db)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The scenarios' own checks, beyond the agreement with the simulator.

func checkBurst(t *testing.T, r *loopRun, sc scenario, o *loop.Observed) {
	assert.Equal(t, int32(4), maxInt32(o.Replicas), "burst: the HPA takes default from 1 to maxReplicas 4")
	assert.Equal(t, int32(1), o.Replicas[len(o.Replicas)-1], "burst: and back to 1")
}

func checkAttachBurst(t *testing.T, r *loopRun, sc scenario, o *loop.Observed) {
	dep := &appsv1.Deployment{}
	require.NoError(t, platform.Client.Get(context.Background(), client.ObjectKey{Namespace: r.rel(sc).ns, Name: deployName(sc)}, dep))
	assert.Equal(t, "mastodon", dep.Labels["app.kubernetes.io/name"], "attach: the chart's own Deployment")
	assert.Equal(t, int32(3), maxInt32(o.Replicas), "attach-burst: 1 -> maxReplicas 3")
	assert.Equal(t, int32(1), o.Replicas[len(o.Replicas)-1], "attach-burst: and back to 1")
}

func checkScaleIn(t *testing.T, r *loopRun, sc scenario, o *loop.Observed) {
	assert.Positive(t, o.Requeued, "scale-in: a pod must have been stopped while its jobs ran (its -t ran out and Sidekiq requeued them)")
}

func checkPushPull(t *testing.T, r *loopRun, sc scenario, o *loop.Observed) {
	hpa := r.hpa(t, sc.source, sc.worker)
	if assert.NotNil(t, hpa) {
		assert.Len(t, hpa.Spec.Metrics, 3, "push-pull: one trigger (external metric) per queue")
	}
	// 30 push and 30 pull jobs, listLength 10: each metric asks for 3 pods; a sum would ask for 6.
	assert.Equal(t, int32(3), maxInt32(o.Replicas), "push-pull: the HPA takes the max over the triggers")
}

func checkScaleToZero(t *testing.T, r *loopRun, sc scenario, o *loop.Observed) {
	assert.Equal(t, int32(0), o.Replicas[0], "scale-to-zero: asleep before the job")
	assert.Equal(t, int32(1), maxInt32(o.Replicas), "scale-to-zero: one job wakes one pod")
	assert.Equal(t, int32(0), o.Replicas[len(o.Replicas)-1], "scale-to-zero: asleep again after the cooldown")
}

func checkScheduler(t *testing.T, r *loopRun, sc scenario, o *loop.Observed) {
	assert.Equal(t, 1, o.Processes, "scheduler: at most one process")
	s := r.series[sc.name]
	for i, n := range s.procs {
		if n != 1 {
			t.Errorf("scheduler: %d processes registered at second %d; exactly one must run throughout", n, i)
			break
		}
	}
	for i, n := range o.Replicas {
		if n != 1 {
			t.Errorf("scheduler: replicas %d at second %d", n, i)
			break
		}
	}
}

func maxInt32(s []int32) int32 {
	var m int32
	for _, v := range s {
		m = max(m, v)
	}
	return m
}
