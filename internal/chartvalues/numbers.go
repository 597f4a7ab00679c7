package chartvalues

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// maxExact is the largest integer a float64 holds exactly (2^53).
const maxExact = 1 << 53

// helmKeepsNumbers refuses a spec (as JSON) holding an integer Helm cannot keep: Helm reads
// every number of a values file as a float64, exact only up to 2^53, so a larger one would
// render differently from what the layout says.
func helmKeepsNumbers(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("encoding layout spec: %w", err)
	}
	var errs []string
	walkNumbers(v, "spec", func(path string, n json.Number) {
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil && (i > maxExact || i < -maxExact) {
			errs = append(errs, fmt.Sprintf("%s: Invalid value: %d: Helm reads every number of a values file as a float64, exact only up to %d: use a smaller value", path, i, int64(maxExact)))
		} else if err != nil && !isFloat(n) {
			errs = append(errs, fmt.Sprintf("%s: Invalid value: %s: not a number Helm can read", path, n))
		}
	})
	if len(errs) == 0 {
		return nil
	}
	msg := errs[0]
	if len(errs) > 1 {
		msg = fmt.Sprintf("%d problems:", len(errs))
		for _, e := range errs {
			msg += "\n  " + e
		}
	}
	return fmt.Errorf("the chart cannot hold this layout: %s", msg)
}

func isFloat(n json.Number) bool {
	f, err := n.Float64()
	return err == nil && !math.IsInf(f, 0)
}

// walkNumbers calls fn with the field path of every number in v, in a stable order.
func walkNumbers(v any, path string, fn func(string, json.Number)) {
	switch x := v.(type) {
	case json.Number:
		fn(path, x)
	case []any:
		for i, e := range x {
			walkNumbers(e, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkNumbers(x[k], path+"."+k, fn)
		}
	}
}
