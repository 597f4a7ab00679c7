package chartvalues

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Seal is the seal of chart values v: the lowercase hex sha256 of the JSON encoding/json makes
// of v without its seal and global keys. Helm's toJson is encoding/json too, so the chart
// computes the same string with
//
//	sha256sum (toJson (omit .Values "seal" "global"))
//
// as long as v holds the values as Helm reads them (YAML through sigs.k8s.io/yaml: maps,
// lists, strings, bools and float64 numbers; `--set` gives int64, which encodes the same).
// A seal catches values edited after chart-values wrote them; it is not a signature.
func Seal(v map[string]any) (string, error) {
	body := make(map[string]any, len(v))
	for k, x := range v {
		if k != SealKey && k != GlobalKey {
			body[k] = x
		}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("sealing values: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}
