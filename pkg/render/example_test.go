package render_test

import (
	"fmt"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
)

func ExampleRender() {
	l, _ := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  mastodonVersion: "4.6"
  workers:
    - name: default
      queues: [{name: default, weight: 8}, {name: push, weight: 6}, {name: ingress, weight: 4}, {name: mailers, weight: 2}, {name: pull}, {name: fasp}]
      autoscale: {maxReplicas: 6}
    - name: scheduler
      concurrency: 5
      queues: [{name: scheduler}]
`))
	set, err := render.FromLayout(l)
	if err != nil {
		panic(err)
	}
	for _, so := range set.ScaledObjects {
		fmt.Println(so.Name, *so.Spec.MaxReplicaCount, len(so.Spec.Triggers), "triggers")
	}
	fmt.Println(set.TriggerAuthentication.Name)
	// Output:
	// mastodon-sidekiq-default 6 6 triggers
	// mastodon-sidekiq-redis
}
