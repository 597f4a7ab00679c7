package layout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Rate is a non-integer count per second (jobs/s). In JSON and YAML it is a number or a
// string holding one, so both `throughputPerThread: 2` and `throughputPerThread: "0.5"` work;
// it is written back as a number.
type Rate float64

// UnmarshalJSON accepts 2, 0.5 and "0.5".
func (r *Rate) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		data = []byte(s)
	}
	f, err := strconv.ParseFloat(string(bytes.TrimSpace(data)), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("%q is not a number of jobs per second", string(data))
	}
	*r = Rate(f)
	return nil
}

// MarshalJSON writes r as a JSON number.
func (r Rate) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(r), 'g', -1, 64)), nil
}

// ListLengthForLatency is Little's law applied to one replica: the backlog a replica of
// `concurrency` threads, each completing `perThread` jobs a second, works off within
// `latency`. A queue longer than that per replica means a newly enqueued job waits longer
// than `latency`, so it is the listLength that keeps jobs under the goal. It rounds down
// (a listLength one job too long already breaks the goal) and is at least 1; a product beyond
// int64 saturates (Validate refuses it above MaxListLength) rather than wrapping.
func ListLengthForLatency(concurrency int32, perThread Rate, latency time.Duration) int64 {
	n := saturatingInt64(math.Floor(float64(concurrency)*float64(perThread)*latency.Seconds() + 1e-9))
	return max(n, 1)
}
