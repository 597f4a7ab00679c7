package layout_test

import (
	"fmt"

	"github.com/mastoscale/mastoscale/pkg/layout"
)

func ExampleResolve() {
	l, _ := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  mastodonVersion: "4.6"
  workers:
    - name: everything
      queues: [{name: default}, {name: push}, {name: ingress}, {name: mailers}, {name: pull}, {name: fasp}, {name: scheduler}]
      autoscale: {maxReplicas: 8}
`))
	if _, report, err := layout.Resolve(l); err != nil {
		for _, e := range report.Errors() {
			fmt.Println(e)
		}
	}
	// Output:
	// spec.workers[0].autoscale: worker "everything" consumes "scheduler", which must run in exactly one process (sidekiq-scheduler enqueues each `every`/`interval` job of Mastodon's schedule, such as scheduled statuses, trends and indexing, once per process consuming the scheduler queue; only `cron`/`at` jobs are deduplicated): remove its autoscaling, or move "scheduler" to a worker of its own with one replica and strategy Recreate
}

func ExampleListName() {
	fmt.Println(layout.ListName("", "ingress"))
	fmt.Println(layout.ListName("masto5", "ingress"))
	// Output:
	// queue:ingress
	// masto5:queue:ingress
}

func ExampleQueueCatalogue() {
	v, _ := layout.ParseMastodonVersion("4.3")
	for _, q := range layout.QueueCatalogue(v) {
		fmt.Println(q.Name, q.Weight, q.Singleton)
	}
	// Output:
	// default 8 false
	// push 6 false
	// ingress 4 false
	// mailers 2 false
	// pull 0 false
	// scheduler 0 true
}
