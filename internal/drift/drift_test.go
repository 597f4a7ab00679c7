package drift_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/drift"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const rendered = `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: mastodon-sidekiq-default, namespace: mastodon}
spec:
  maxReplicaCount: 4
  triggers:
  - type: redis
    metadata: {listName: "queue:default", listLength: "1500"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: mastodon-sidekiq-default, namespace: mastodon}
spec: {template: {spec: {containers: [{name: mastodon}]}}}
`

func TestSameObjectsInAnotherOrderAndFormat(t *testing.T) {
	committed := `# committed by hand
apiVersion: apps/v1
kind: Deployment
metadata:
  namespace: mastodon
  name: mastodon-sidekiq-default
spec:
  template:
    spec:
      containers:
        - name: mastodon
---
kind: ScaledObject
apiVersion: keda.sh/v1alpha1
metadata: {namespace: mastodon, name: mastodon-sidekiq-default}
spec:
  triggers:
    - metadata: {listLength: "1500", listName: "queue:default"}
      type: redis
  maxReplicaCount: 4
---
`
	r, err := drift.Compare([]byte(rendered), []byte(committed))
	require.NoError(t, err)
	assert.True(t, r.Clean(), r.Diff())
	assert.Equal(t, 2, r.Objects)
}

func TestChangedRemovedAdded(t *testing.T) {
	changed := strings.Replace(rendered, `listLength: "1500"`, `listLength: "1000"`, 1)
	r, err := drift.Compare([]byte(rendered), []byte(changed))
	require.NoError(t, err)
	assert.Equal(t, []string{"keda.sh ScaledObject mastodon/mastodon-sidekiq-default"}, r.Changed)
	assert.Contains(t, r.Diff(), `-      listLength: "1000"`)
	assert.Contains(t, r.Diff(), `+      listLength: "1500"`)

	removed := rendered[strings.Index(rendered, "---\n")+4:]
	r, err = drift.Compare([]byte(rendered), []byte(removed))
	require.NoError(t, err)
	assert.Equal(t, []string{"keda.sh ScaledObject mastodon/mastodon-sidekiq-default"}, r.Missing)

	added := rendered + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n"
	r, err = drift.Compare([]byte(rendered), []byte(added))
	require.NoError(t, err)
	assert.Equal(t, []string{"core ConfigMap extra"}, r.Extra)
	testutil.Golden(t, "testdata/added.diff", []byte(r.Diff()))
}

func TestParseErrors(t *testing.T) {
	_, err := drift.Parse([]byte("kind: Deployment\n"))
	assert.ErrorContains(t, err, "object 1: not a Kubernetes object")
	_, err = drift.Parse([]byte(rendered + "---\n" + rendered))
	assert.ErrorContains(t, err, "appears twice")
	_, err = drift.Parse([]byte("a: [\n"))
	assert.ErrorContains(t, err, "document 1 (line 1)")
}

// TestListsAndJSON: a committed file may be a JSON `kind: List` (render -o json) or a YAML
// List; its items are the objects, compared with a plain YAML stream.
func TestListsAndJSON(t *testing.T) {
	objs, err := drift.Parse([]byte(rendered))
	require.NoError(t, err)
	var items []string
	for _, o := range objs {
		data, err := json.Marshal(o.Content)
		require.NoError(t, err)
		items = append(items, string(data))
	}
	list := `{"apiVersion": "v1", "kind": "List", "items": [` + strings.Join(items, ",") + `]}`
	r, err := drift.Compare([]byte(rendered), []byte(list))
	require.NoError(t, err)
	assert.True(t, r.Clean(), r.Diff())
	r, err = drift.Compare([]byte(list), []byte(rendered))
	require.NoError(t, err)
	assert.True(t, r.Clean(), r.Diff())
}
