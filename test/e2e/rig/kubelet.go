//go:build e2e

package rig

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
)

// Kubelet plays the kubelet (and the scheduler) for the Sidekiq pods of one namespace: the rig
// has neither. For each Pod the ReplicaSet controller creates it binds the pod to the rig's
// Node, runs one real sidekiq process with the arguments of the pod's own container command
// (its -c, -q and -t) and DYNO=<pod name>, so Sidekiq's process identity carries the pod name
// as the hostname does in a cluster, and marks the Pod Running and Ready through the status
// subresource once the process has registered in Redis (Sidekiq's heartbeat, written when its
// fetchers start). When the Pod is deleted it sends TERM, waits out the pod's grace period,
// sends KILL if the process is still there, and then removes the Pod, as a kubelet does.
type Kubelet struct {
	r    *Rig
	cs   kubernetes.Interface
	opts KubeletOptions
	stop chan struct{}
	wg   sync.WaitGroup

	mu   sync.Mutex
	pods map[types.UID]*sidekiqPod
}

// KubeletOptions say which pods to run and how.
type KubeletOptions struct {
	Namespace string
	// Selector picks the pods to run (a label selector); others stay Pending.
	Selector string
	// RedisURL is the REDIS_URL every process gets (Sidekiq 6 reads it, or the variable
	// REDIS_PROVIDER names).
	RedisURL string
	// Require is sidekiq's -r: the file that defines the job classes.
	Require string
	// Env is added to every process's environment.
	Env []string
	// Registered reports whether the process of pod with pid has registered in Redis.
	Registered func(ctx context.Context, pod string, pid int) (bool, error)
}

// PodRecord is what happened to one pod, as the kubelet saw it.
type PodRecord struct {
	Name      string
	Component string // app.kubernetes.io/component
	PID       int
	Args      []string
	Created   time.Time // the kubelet saw the pod
	Ready     time.Time // the process registered; the pod was marked Ready
	Deleting  time.Time // the pod's deletion was seen; TERM sent
	Exited    time.Time
	Gone      time.Time // the pod object was removed
	Killed    bool      // the grace period ran out: KILL
	ExitErr   string
}

type sidekiqPod struct {
	rec  PodRecord
	uid  types.UID
	proc *process
	term bool
}

// NodeName is the Node the rig's kubelet binds pods to.
const NodeName = "rig-node"

// StartKubelet starts serving the pods of o.Namespace that match o.Selector.
func (r *Rig) StartKubelet(ctx context.Context, o KubeletOptions) (*Kubelet, error) {
	if r.opts.SidekiqBin == "" {
		return nil, fmt.Errorf("the rig has no sidekiq (RIG_SIDEKIQ); start it with Options.Controllers")
	}
	cs, err := kubernetes.NewForConfig(r.Config)
	if err != nil {
		return nil, err
	}
	if err := ensureNode(ctx, cs); err != nil {
		return nil, err
	}
	k := &Kubelet{r: r, cs: cs, opts: o, stop: make(chan struct{}), pods: map[types.UID]*sidekiqPod{}}
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(o.Namespace),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = o.Selector }))
	inf := f.Core().V1().Pods().Informer()
	_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.sync(obj) },
		UpdateFunc: func(_, obj any) { k.sync(obj) },
		DeleteFunc: func(obj any) { k.gone(obj) },
	})
	if err != nil {
		return nil, err
	}
	f.Start(k.stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		close(k.stop)
		return nil, fmt.Errorf("kubelet: pod informer of %s did not sync", o.Namespace)
	}
	return k, nil
}

func ensureNode(ctx context.Context, cs kubernetes.Interface) error {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: NodeName}}
	_, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("creating Node %s: %w", NodeName, err)
	}
	return nil
}

// sync reacts to a pod's add or update: start its process, or stop it when it is deleted.
func (k *Kubelet) sync(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	k.mu.Lock()
	sp := k.pods[pod.UID]
	if sp == nil {
		if pod.DeletionTimestamp != nil {
			k.mu.Unlock()
			return
		}
		sp = &sidekiqPod{uid: pod.UID, rec: PodRecord{Name: pod.Name, Component: pod.Labels["app.kubernetes.io/component"], Created: time.Now()}}
		k.pods[pod.UID] = sp
		k.mu.Unlock()
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			k.run(pod.DeepCopy(), sp)
		}()
		return
	}
	if pod.DeletionTimestamp != nil && !sp.term {
		sp.term = true
		sp.rec.Deleting = time.Now()
		k.mu.Unlock()
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			k.terminate(pod.DeepCopy(), sp)
		}()
		return
	}
	k.mu.Unlock()
}

// gone is the pod object's removal; a process still running (a forced deletion) is killed.
func (k *Kubelet) gone(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	k.mu.Lock()
	var p *process
	if sp := k.pods[pod.UID]; sp != nil {
		sp.rec.Gone = time.Now()
		p = sp.proc
	}
	k.mu.Unlock()
	if p != nil && !p.exited() {
		_ = p.cmd.Process.Kill()
	}
}

// run binds the pod, starts its sidekiq and marks it Ready once the process has registered.
func (k *Kubelet) run(pod *corev1.Pod, sp *sidekiqPod) {
	ctx := context.Background()
	if pod.Spec.NodeName == "" {
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
			Target: corev1.ObjectReference{Kind: "Node", Name: NodeName}}
		if err := k.cs.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{}); err != nil {
			k.r.opts.logf("kubelet: binding %s: %v", pod.Name, err)
			return
		}
	}
	args, err := sidekiqArgs(pod)
	if err != nil {
		k.r.opts.logf("kubelet: %s: %v", pod.Name, err)
		return
	}
	args = append(args, "-r", k.opts.Require)
	env := append([]string{"REDIS_URL=" + k.opts.RedisURL, "DYNO=" + pod.Name, "RUBYOPT=-W0"}, k.opts.Env...)
	k.mu.Lock()
	if sp.term {
		k.mu.Unlock()
		return
	}
	p, err := k.r.startProcess("sidekiq-"+pod.Name, k.r.opts.SidekiqBin, args, env)
	if err != nil {
		k.mu.Unlock()
		k.r.opts.logf("kubelet: %s: %v", pod.Name, err)
		return
	}
	sp.proc, sp.rec.PID, sp.rec.Args = p, p.cmd.Process.Pid, args
	k.mu.Unlock()
	go k.reap(sp)
	started := time.Now()
	err = poll(ctx, 100*time.Millisecond, func() (bool, error) {
		if p.exited() {
			return true, nil
		}
		select {
		case <-k.stop:
			return true, nil
		default:
		}
		return k.opts.Registered(ctx, pod.Name, sp.rec.PID)
	})
	if err != nil || p.exited() {
		k.mu.Lock()
		deleted := sp.term
		k.mu.Unlock()
		if !deleted { // a pod deleted while it started is no failure
			k.r.opts.logf("kubelet: %s: sidekiq exited before it registered: %v\n%s", pod.Name, p.err, p.tail(2000))
		}
		return
	}
	k.mu.Lock()
	sp.rec.Ready = time.Now()
	k.mu.Unlock()
	if err := k.markReady(ctx, pod, started); err != nil {
		k.r.opts.logf("kubelet: %s: status: %v", pod.Name, err)
	}
}

func (k *Kubelet) reap(sp *sidekiqPod) {
	<-sp.proc.done
	k.mu.Lock()
	defer k.mu.Unlock()
	sp.rec.Exited = time.Now()
	if sp.proc.err != nil {
		sp.rec.ExitErr = sp.proc.err.Error()
	}
}

// sidekiqArgs is the container command after "sidekiq" ("bundle exec sidekiq -c 25 -q ...").
func sidekiqArgs(pod *corev1.Pod) ([]string, error) {
	for _, c := range pod.Spec.Containers {
		argv := append(append([]string{}, c.Command...), c.Args...)
		for i, a := range argv {
			if path.Base(a) == "sidekiq" {
				return append([]string{}, argv[i+1:]...), nil
			}
		}
	}
	return nil, fmt.Errorf("no container of the pod runs sidekiq")
}

// markReady writes the status a kubelet writes for a running, ready container.
func (k *Kubelet) markReady(ctx context.Context, pod *corev1.Pod, started time.Time) error {
	now := metav1.NewTime(time.Now())
	start := metav1.NewTime(started)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := k.cs.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pod.UID || cur.DeletionTimestamp != nil {
			return nil
		}
		cur.Status.Phase = corev1.PodRunning
		cur.Status.HostIP, cur.Status.PodIP = "127.0.0.1", "127.0.0.1"
		cur.Status.StartTime = &start
		cur.Status.Conditions = nil
		for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
			cur.Status.Conditions = append(cur.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
		}
		cur.Status.ContainerStatuses = nil
		for _, c := range cur.Spec.Containers {
			cur.Status.ContainerStatuses = append(cur.Status.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: true, Started: ptr(true),
				ContainerID: fmt.Sprintf("rig://%s", pod.Name),
				State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}},
			})
		}
		_, err = k.cs.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

// terminate stops a deleted pod's process as the kubelet does: TERM, the grace period, KILL;
// then it removes the pod object.
func (k *Kubelet) terminate(pod *corev1.Pod, sp *sidekiqPod) {
	grace := 30 * time.Second
	if pod.DeletionGracePeriodSeconds != nil {
		grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	k.mu.Lock()
	p := sp.proc
	k.mu.Unlock()
	if p != nil && !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			k.mu.Lock()
			sp.rec.Killed = true
			k.mu.Unlock()
			_ = p.cmd.Process.Kill()
			<-p.done
		case <-k.stop:
			return
		}
	}
	zero := int64(0)
	uid := pod.UID
	err := k.cs.CoreV1().Pods(pod.Namespace).Delete(context.Background(), pod.Name,
		metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !strings.Contains(err.Error(), "not found") {
		k.r.opts.logf("kubelet: removing pod %s: %v", pod.Name, err)
	}
}

// Records returns what happened to every pod so far, oldest first.
func (k *Kubelet) Records() []PodRecord {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]PodRecord, 0, len(k.pods))
	for _, sp := range k.pods {
		out = append(out, sp.rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// Stop stops every process still running, by PID (TERM, then KILL after two seconds), and
// the pod informer.
func (k *Kubelet) Stop() {
	select {
	case <-k.stop:
		return
	default:
	}
	close(k.stop)
	k.mu.Lock()
	var procs []*process
	for _, sp := range k.pods {
		if sp.proc != nil {
			procs = append(procs, sp.proc)
		}
	}
	k.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(2 * time.Second)
		}()
	}
	wg.Wait()
	k.wg.Wait()
}

func ptr[T any](v T) *T { return &v }
