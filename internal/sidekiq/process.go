package sidekiq

import (
	"strings"
	"time"
)

// Process is one live Sidekiq process, from its heartbeat hash.
type Process struct {
	Identity    string   `json:"identity"`
	Hostname    string   `json:"hostname"`
	PID         int64    `json:"pid"`
	Tag         string   `json:"tag,omitempty"`
	Version     string   `json:"version,omitempty"`
	Concurrency int32    `json:"concurrency"`
	Queues      []string `json:"queues"`
	// Busy is the number of threads running a job (the heartbeat's `busy`).
	Busy int64 `json:"busy"`
	// Beat is the time of the last heartbeat.
	Beat time.Time `json:"beat"`
	// Quiet is true once the process was told to stop fetching (TSTP, or shutting down).
	Quiet bool `json:"quiet"`
	// Running is the queue of each job running now, from the work hash; only read on request.
	Running []string `json:"-"`
}

// podNameAlphabet is the alphabet of the random parts of a Deployment's pod names: the
// ReplicaSet's pod-template-hash (rand.SafeEncodeString) and the pod's generated suffix
// (rand.String), both from k8s.io/apimachinery/pkg/util/rand.
const podNameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// maxGeneratedBase is how much of a generateName prefix the apiserver keeps: a generated name
// is at most 63 characters, 5 of them random (k8s.io/apiserver names.SimpleNameGenerator).
const maxGeneratedBase = 58

// IsPodOf reports whether hostname is the name of a pod of Deployment deployment, as Sidekiq
// on Kubernetes sees it (Socket.gethostname is the pod name): `<deployment>-<pod-template-hash>-<5
// random>`, where the part before the random suffix is cut at 58 characters for long names.
// Both random parts use Kubernetes' alphabet, so the pods of `default` are not taken for those
// of `default-push`.
func IsPodOf(hostname, deployment string) bool {
	if deployment == "" || len(hostname) <= 5 || !inAlphabet(hostname[len(hostname)-5:]) {
		return false
	}
	base := hostname[:len(hostname)-5] // "<deployment>-<hash>-", perhaps cut short
	if len(base) < maxGeneratedBase {
		hash, ok := strings.CutPrefix(base, deployment+"-")
		hash, dash := strings.CutSuffix(hash, "-")
		return ok && dash && len(hash) >= 1 && len(hash) <= 10 && inAlphabet(hash)
	}
	if len(base) != maxGeneratedBase {
		return false
	}
	full := deployment + "-"
	if len(full) >= maxGeneratedBase {
		return base == full[:maxGeneratedBase]
	}
	rest, ok := strings.CutPrefix(base, full) // a cut "<hash>-": hash characters, then maybe the dash
	if !ok {
		return false
	}
	hash, _ := strings.CutSuffix(rest, "-")
	return len(hash) >= 1 && len(hash) <= 10 && inAlphabet(hash)
}

func inAlphabet(s string) bool {
	for i := range len(s) {
		if strings.IndexByte(podNameAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// hostname is the process's hostname: the heartbeat's, or the identity's first part
// (`hostname:pid:nonce`) when the info does not say.
func (p Process) hostname() string {
	if p.Hostname != "" {
		return p.Hostname
	}
	return HostnameOf(p.Identity)
}

// HostnameOf is the hostname part of a process identity `hostname:pid:nonce`.
func HostnameOf(identity string) string {
	h := identity
	for range 2 {
		if i := strings.LastIndexByte(h, ':'); i >= 0 {
			h = h[:i]
		}
	}
	return h
}

// Usage is what the processes of one Deployment's pods do now.
type Usage struct {
	// Processes are the live, not quiet processes on the Deployment's pods; Threads the sum of
	// their concurrency; Busy the sum of their busy threads. A quiet process is stopping: it
	// fetches nothing, and the HPA no longer counts its pod.
	Processes int   `json:"processes"`
	Threads   int64 `json:"threads"`
	Busy      int64 `json:"busy"`
	// Running is the busy threads of every process on the Deployment's pods, quiet ones
	// included: jobs that are still running.
	Running int64 `json:"running"`
}

// UsageOf sums the processes running on the pods of deployment.
func UsageOf(procs []Process, deployment string) Usage {
	var u Usage
	for _, p := range procs {
		if !IsPodOf(p.hostname(), deployment) {
			continue
		}
		u.Running += p.Busy
		if p.Quiet {
			continue
		}
		u.Processes++
		u.Threads += int64(p.Concurrency)
		u.Busy += p.Busy
	}
	return u
}

// Utilization is busy threads / (processes x concurrency), i.e. Busy / Threads; false when there
// are no threads to divide by (no process of the Deployment is running).
func (u Usage) Utilization() (float64, bool) {
	if u.Threads <= 0 {
		return 0, false
	}
	return float64(u.Busy) / float64(u.Threads), true
}
