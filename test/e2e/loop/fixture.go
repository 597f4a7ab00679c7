// Package loop holds the loop scenarios' recorded runs and holds the simulator to them: each
// fixture (testdata/<scenario>.json) is what the platform rig observed when the real HPA
// controller scaled a Deployment rendered by mastoscale from real KEDA metrics while real
// Sidekiq processes drained the queues; Compare replays the same layout and arrival trace
// through internal/simulate and measures the agreement. The rig run (test/e2e, make e2e-loop)
// records the fixtures; this package's own test compares them without the rig.
package loop

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Fixture is one scenario's recorded run.
type Fixture struct {
	Scenario string `json:"scenario"`
	// Source says which mastoscale output the rig applied: post-render (split, from a layout),
	// render (render's KEDA objects with post-render's Deployment) or attach.
	Source string `json:"source"`
	// Layout is the layout file, relative to the fixture's directory; Worker the layout worker
	// the scenario drives.
	Layout string `json:"layout"`
	Worker string `json:"worker"`
	Rig    Rig    `json:"rig"`
	// Trace is what the scenario pushed, second by second from the start of the run.
	Trace []Arrival `json:"trace"`
	// Seconds is the length of the recorded window.
	Seconds  int      `json:"seconds"`
	Observed Observed `json:"observed"`
}

// Rig is what the simulator needs to know of the rig the run was recorded on.
type Rig struct {
	HPASyncSeconds int `json:"hpaSyncSeconds"`
	// StartupSeconds is the measured pod start delay: from the pod's creation by the
	// ReplicaSet controller to its Sidekiq process registering (mean over the run's pods).
	StartupSeconds float64 `json:"startupSeconds"`
	Kubernetes     string  `json:"kubernetes"`
	KEDA           string  `json:"keda"`
	Sidekiq        string  `json:"sidekiq"`
}

// Arrival is Jobs jobs pushed to Queue at second T, each running Service seconds.
type Arrival struct {
	T       int     `json:"t"`
	Queue   string  `json:"queue"`
	Jobs    int32   `json:"jobs"`
	Service float64 `json:"service"`
}

// Observed is the run as the rig saw it, one value per second of the window.
type Observed struct {
	// Pods existing during each second (created by the ReplicaSet controller and not yet
	// removed after their process exited): what the simulator's pod series counts.
	Pods []int32 `json:"pods"`
	// Replicas is the Deployment's spec.replicas (the HPA's or KEDA's decision) at each second.
	Replicas []int32 `json:"replicas"`
	// Depth is the jobs queued over the worker's queues (LLEN) at each second.
	Depth []int64 `json:"depth"`
	// Processes is the most Sidekiq processes of the worker registered in Redis at once.
	Processes int `json:"processes"`
	// Jobs pushed; Lost: pushed but never performed and no longer queued; Duplicates:
	// performed more than once; Requeued: started, interrupted by a stopping process's -t and
	// pushed back by Sidekiq (counted from the job's own log).
	Jobs       int `json:"jobs"`
	Lost       int `json:"lost"`
	Duplicates int `json:"duplicates"`
	Requeued   int `json:"requeued"`
	// StartDelays are the measured start delays of the pods created during the run, seconds.
	StartDelays []float64 `json:"startDelays,omitempty"`
	// StopDelays are, for the pods deleted during the run, the seconds from the deletion to the
	// pod's removal after its process exited (TERM, Sidekiq's shutdown, the kubelet's removal).
	StopDelays []float64 `json:"stopDelays,omitempty"`
	// HPASyncs are the seconds at which the worker's HPA wrote a changed status: syncs of the
	// HPA controller (every sync during the run changes the metrics it reports). The first
	// one after the start fixes the phase of the syncs relative to the trace.
	HPASyncs []float64 `json:"hpaSyncs,omitempty"`
	// KEDAPolls are the seconds at which KEDA wrote a changed ScaledObject status: polls of its
	// scale loop (each poll of an active ScaledObject moves lastActiveTime). The first one
	// fixes the phase of the polls, which decide 0 <-> 1.
	KEDAPolls []float64 `json:"kedaPolls,omitempty"`
}

// Load reads every fixture of dir (*.json), sorted by scenario.
func Load(dir string) ([]*Fixture, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Fixture
	for _, p := range paths {
		f, err := LoadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scenario < out[j].Scenario })
	return out, nil
}

// LoadFile reads one fixture.
func LoadFile(path string) (*Fixture, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &Fixture{}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Save writes the fixture as dir/<scenario>.json.
func (f *Fixture) Save(dir string) error {
	if err := f.check(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, f.Scenario+".json"), append(data, '\n'), 0o644)
}

func (f *Fixture) check() error {
	switch {
	case f.Scenario == "" || f.Worker == "" || f.Layout == "":
		return fmt.Errorf("scenario, worker and layout are required")
	case f.Seconds <= 0 || len(f.Observed.Pods) != f.Seconds || len(f.Observed.Depth) != f.Seconds ||
		len(f.Observed.Replicas) != f.Seconds:
		return fmt.Errorf("the observed series must hold one value per second of the %d-second window", f.Seconds)
	case f.Rig.HPASyncSeconds <= 0:
		return fmt.Errorf("rig.hpaSyncSeconds must be set")
	}
	for i, a := range f.Trace {
		if a.T < 0 || a.T >= f.Seconds || a.Jobs < 0 || a.Service <= 0 || a.Queue == "" {
			return fmt.Errorf("trace[%d]: want 0 <= t < %d, a queue, jobs >= 0 and service > 0", i, f.Seconds)
		}
	}
	return nil
}
