package sidekiq

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// millisThreshold tells the two `enqueued_at` formats apart: Sidekiq 7 and older write float
// epoch seconds (1.7e9 today), Sidekiq 8 integer epoch milliseconds (1.7e12). 1e11 seconds is in
// the year 5138 and 1e11 milliseconds in 1973, so no real timestamp is ambiguous.
const millisThreshold = 1e11

// The range of plausible timestamps, in seconds: 2000-01-01 to 2200-01-01.
const minEpoch, maxEpoch = 946684800, 7258118400

// EnqueuedAt returns the `enqueued_at` of a Sidekiq job payload, in either format, detected
// per job so a queue holding jobs of both Sidekiq versions (mid-upgrade) reads right.
func EnqueuedAt[T string | []byte](job T) (time.Time, bool) {
	v, ok := topLevelValue(job, "enqueued_at")
	if !ok || len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return time.Time{}, false // absent, or not a number
	}
	return epoch(string(v))
}

// epoch reads a Sidekiq timestamp: float seconds or integer milliseconds.
func epoch(s string) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return time.Time{}, false
	}
	// A time before 2000 or after 2200 is no Sidekiq timestamp (1e-300, 1e300, a corrupt job):
	// read as none rather than as a wait of 56 or 292 years.
	if f < minEpoch || (f > maxEpoch && f < minEpoch*1000) || f > maxEpoch*1000 {
		return time.Time{}, false
	}
	if f > millisThreshold {
		return time.UnixMilli(int64(f)).UTC(), true
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), true
}

// processInfo is the JSON of the `info` field of a process's heartbeat hash, as Sidekiq's
// Launcher#to_data writes it.
type processInfo struct {
	Hostname    string   `json:"hostname"`
	PID         int64    `json:"pid"`
	Tag         string   `json:"tag"`
	Concurrency int32    `json:"concurrency"`
	Queues      []string `json:"queues"`
	Identity    string   `json:"identity"`
	Version     string   `json:"version"`
}

// Heartbeat holds the fields of a process's heartbeat hash that are read (Launcher#❤ writes
// them every 5 s in Sidekiq 6, every 10 s from Sidekiq 7).
type Heartbeat struct {
	// Info is the process's JSON description, written once per process (Launcher#to_json).
	Info              string
	Busy, Beat, Quiet string
	// Concurrency is the hash's own field, written from Sidekiq 8.1.2 on (it left Info there);
	// "" for older versions, whose Info holds it.
	Concurrency string
}

// ParseProcess builds a Process from the heartbeat hash of identity.
func ParseProcess(identity string, h Heartbeat) (Process, error) {
	var pi processInfo
	if err := json.Unmarshal([]byte(h.Info), &pi); err != nil {
		return Process{}, fmt.Errorf("process %q: reading its info: %w", identity, err)
	}
	p := Process{
		Identity:    identity,
		Hostname:    pi.Hostname,
		PID:         pi.PID,
		Tag:         pi.Tag,
		Version:     pi.Version,
		Concurrency: pi.Concurrency,
		Queues:      uniqueSorted(pi.Queues),
	}
	return p.withBeat(h)
}

// withBeat returns p with the fields of h that change from one heartbeat to the next.
func (p Process) withBeat(h Heartbeat) (Process, error) {
	p.Quiet = h.Quiet == "true"
	p.Busy = 0
	if h.Busy != "" {
		n, err := strconv.ParseInt(h.Busy, 10, 64)
		if err != nil {
			return Process{}, fmt.Errorf("process %q: busy %q is not a number", p.Identity, h.Busy)
		}
		p.Busy = n
	}
	if h.Concurrency != "" {
		n, err := strconv.ParseInt(h.Concurrency, 10, 32)
		if err != nil {
			return Process{}, fmt.Errorf("process %q: concurrency %q is not a number", p.Identity, h.Concurrency)
		}
		p.Concurrency = int32(n)
	}
	p.Beat = time.Time{}
	if t, ok := epoch(h.Beat); ok {
		p.Beat = t
	}
	return p, nil
}

// WorkQueue returns the queue of one entry of a process's work hash (a running job:
// {"queue": ..., "payload": ..., "run_at": ...}), or of a job payload, which names its queue the
// same way.
func WorkQueue(work string) (string, bool) {
	var w struct {
		Queue string `json:"queue"`
	}
	if err := json.Unmarshal([]byte(work), &w); err != nil || w.Queue == "" {
		return "", false
	}
	return w.Queue, true
}

func uniqueSorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
