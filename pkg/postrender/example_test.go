package postrender_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/postrender"
)

// A release as Helm hands it to a post-renderer: the env ConfigMap and the charts' default
// worker, all-queues.
const exampleRelease = `---
# Source: mastodon/templates/configmap-env.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: mastodon-env}
data: {REDIS_HOST: mastodon-redis-master, REDIS_PORT: "6379"}
---
# Source: mastodon/templates/deployment-sidekiq.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mastodon-sidekiq-all-queues
  labels: {app.kubernetes.io/instance: mastodon, app.kubernetes.io/component: sidekiq-all-queues, app.kubernetes.io/part-of: rails}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: mastodon
          image: ghcr.io/mastodon/mastodon:v4.6.3
          command: [bundle, exec, sidekiq, -c, "25", -q, "default,8", -q, "push,6", -q, "ingress,4", -q, "mailers,2", -q, pull, -q, scheduler, -q, fasp]
          envFrom: [{configMapRef: {name: mastodon-env}}]
`

func ExampleRun() {
	var out bytes.Buffer
	res, err := postrender.Run(strings.NewReader(exampleRelease), &out, postrender.Options{Preset: "split"})
	if err != nil {
		panic(err)
	}
	kind := ""
	for _, line := range strings.Split(out.String(), "\n") {
		if k, ok := strings.CutPrefix(line, "kind: "); ok {
			kind = k
		}
		if name, ok := strings.CutPrefix(line, "  name: mastodon-sidekiq-"); ok {
			fmt.Println(kind, name)
		}
	}
	for _, f := range res.Findings {
		fmt.Println(f.Severity, f.Message)
	}
	// Output:
	// Deployment default
	// ScaledObject default
	// PodDisruptionBudget default
	// Deployment ingress
	// ScaledObject ingress
	// PodDisruptionBudget ingress
	// Deployment push-pull
	// ScaledObject push-pull
	// PodDisruptionBudget push-pull
	// Deployment mailers
	// ScaledObject mailers
	// PodDisruptionBudget mailers
	// Deployment scheduler
	// PodDisruptionBudget scheduler
	// info the Sidekiq environment has no REDIS_PASSWORD, so Redis is taken to need none and no TriggerAuthentication is made; set spec.redis.auth if it does
}
