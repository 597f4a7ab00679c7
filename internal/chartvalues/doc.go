// Package chartvalues writes the values of the charts/mastoscale Helm chart from a
// SidekiqLayout (`mastoscale chart-values`), so that every Mastodon rule is checked once, in
// Go, and the chart only renders.
//
// The values are the layout's spec fully defaulted by layout.Default, field for field, plus
// the few things the chart could only compute by re-implementing a rule (each queue's
// listLength, each latency trigger's query and threshold), the layout's warnings (the chart
// shows them in its NOTES) and a seal: the sha256 of the canonical JSON of all of it. The chart
// checks the seal and refuses values it does not match, so it renders only what chart-values
// checked.
package chartvalues
