// Package chartvalues turns a SidekiqLayout into values for the charts/mastoscale Helm chart,
// so a layout written for the CLI, the post-renderer or the KRM function also drives the chart
// (Argo CD, plain `helm install`) without being rewritten.
package chartvalues
