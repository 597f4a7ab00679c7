package chart_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// schemaNode is the part of a JSON schema the test reads.
type schemaNode struct {
	Type                 string                 `json:"type"`
	AdditionalProperties *bool                  `json:"additionalProperties"`
	Properties           map[string]*schemaNode `json:"properties"`
	Items                *schemaNode            `json:"items"`
}

// notInSchema are spec fields no values file holds: chart-values refuses a layout with them.
var notInSchema = map[string]bool{"redis.password": true, "redis.sentinel.password": true}

// onlyInSchema are values that are not spec fields: what chart-values adds, and what the
// schema lets through so that the templates can explain it.
var onlyInSchema = map[string]bool{
	"global": true, "deployments": true, "warnings": true, "seal": true,
	"workers.autoscale.latencyTrigger.query":               true,
	"workers.autoscale.latencyTrigger.threshold":           true,
	"workers.autoscale.latencyTrigger.activationThreshold": true,
	"workers.autoscale.latencyTrigger.targetSeconds":       true,
	"workers.autoscale.externalTriggers":                   true,
	"scaler.objects":                                       true,
}

// TestSchemaDescribesSpec: values.schema.json has a property of the right type for every
// field of layout.Spec (so it cannot fall behind the layout), no property the spec does not
// have but those chart-values adds, and refuses unknown properties everywhere.
func TestSchemaDescribesSpec(t *testing.T) {
	data, err := os.ReadFile("values.schema.json")
	require.NoError(t, err)
	var root schemaNode
	require.NoError(t, json.Unmarshal(data, &root))
	var problems []string
	compareSchema(reflect.TypeFor[layout.Spec](), &root, "", &problems)
	sort.Strings(problems)
	assert.Empty(t, problems)
}

func compareSchema(typ reflect.Type, node *schemaNode, path string, problems *[]string) {
	add := func(format string, a ...any) {
		*problems = append(*problems, strings.TrimPrefix(path, ".")+": "+fmt.Sprintf(format, a...))
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	want := schemaType(typ)
	if node.Type != want {
		add("type %q, the spec has %q", node.Type, want)
		return
	}
	switch want {
	case "array":
		if node.Items == nil {
			add("no items")
			return
		}
		compareSchema(typ.Elem(), node.Items, path, problems)
	case "object":
		if node.AdditionalProperties == nil || *node.AdditionalProperties {
			add("additionalProperties must be false")
		}
		fields := jsonFields(typ)
		for name, f := range fields {
			p := strings.TrimPrefix(path+"."+name, ".")
			if notInSchema[p] {
				continue
			}
			child, ok := node.Properties[name]
			if !ok {
				add("no property %q", name)
				continue
			}
			compareSchema(f, child, path+"."+name, problems)
		}
		for name := range node.Properties {
			if _, ok := fields[name]; !ok && !onlyInSchema[strings.TrimPrefix(path+"."+name, ".")] {
				add("property %q is no field of the spec", name)
			}
		}
	}
}

// schemaType is the JSON schema type of how a spec field encodes.
func schemaType(typ reflect.Type) string {
	switch typ {
	case reflect.TypeFor[metav1.Duration](), reflect.TypeFor[resource.Quantity]():
		return "string"
	case reflect.TypeFor[layout.Rate]():
		return "number"
	}
	switch typ.Kind() {
	case reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Slice:
		return "array"
	case reflect.Struct:
		return "object"
	}
	return typ.Kind().String()
}

// jsonFields are the JSON names and types of a struct's fields.
func jsonFields(typ reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}
