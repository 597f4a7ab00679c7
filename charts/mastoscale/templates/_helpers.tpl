{{/*
The chart renders; Go decides. Its values are written by `mastoscale chart-values`, which
checks every rule and fills in every default, and sealed: the templates check the seal and then
copy values into objects. They default nothing and check no Mastodon rule; a rule or default
written here would be a second copy of pkg/layout that could disagree with it.

An object kind rendered once per worker is a template of its own that starts with
`include "mastoscale.verify" .`, ranges over .Values.workers and names its object with
"mastoscale.workerMetadata" (see scaledobjects.yaml).
*/}}

{{/*
mastoscale.verify fails, with every problem at once, unless the values are exactly what
`mastoscale chart-values` wrote: their seal is the sha256 of their JSON without the seal and
Helm's global values (chartvalues.Seal). It renders nothing.
*/}}
{{- define "mastoscale.verify" -}}
{{- $problems := list -}}
{{- $regenerate := "edit the layout and write the values again: mastoscale chart-values -f layout.yaml > values.yaml" -}}
{{- if hasKey .Values "deployments" -}}
{{- $problems = append $problems "deployments: removed: this chart no longer renders Sidekiq Deployments, because they could not boot Mastodon (they lacked the secrets, volumes and service account the official chart gives its pods). Let the official Mastodon chart run the layout's workers (its mastodon.sidekiq.workers, with the same names, queues and concurrency), or use `mastoscale post-render` or the KRM function (`mastoscale fn`), which clone the chart's own Deployment; then drop deployments from the values" -}}
{{- end -}}
{{- if not .Values.seal -}}
{{- $problems = append $problems (printf "seal: missing: these values were not written by `mastoscale chart-values`, which is where every rule is checked (this chart checks none): %s" $regenerate) -}}
{{- else if ne (toString .Values.seal) (sha256sum (toJson (omit .Values "seal" "global"))) -}}
{{- $problems = append $problems (printf "seal: does not match: these values were edited (or merged with other values, --set or a second -f) after `mastoscale chart-values` wrote them, so no rule checked them (this chart checks none): %s" $regenerate) -}}
{{- end -}}
{{- if $problems -}}
{{- $msg := printf "values refused (%d): this chart renders only values written by mastoscale chart-values, unedited:\n  %s" (len $problems) (join "\n  " $problems) -}}
{{- fail $msg -}}
{{- /* `helm lint` turns fail into a log line and renders on; naming a template that does not
       exist stops it there with the message, so lint refuses these values too. */ -}}
{{- include $msg . -}}
{{- end -}}
{{- end -}}

{{/* The Deployment both Mastodon charts run for worker .worker: <fullname>-sidekiq-<worker>. */}}
{{- define "mastoscale.workerName" -}}
{{- printf "%s-sidekiq-%s" .root.Values.release.fullname .worker.name -}}
{{- end -}}

{{/* metadata of an object of worker .worker: its name, the release namespace, its labels. */}}
{{- define "mastoscale.workerMetadata" -}}
name: {{ include "mastoscale.workerName" . | quote }}
namespace: {{ .root.Release.Namespace | quote }}
labels:
  {{- include "mastoscale.selectorLabels" . | nindent 2 }}
  {{- include "mastoscale.helmLabels" .root | nindent 2 }}
{{- end -}}

{{/* Labels both Mastodon charts select a worker's pods by (layout.SidekiqSelectorLabels). */}}
{{- define "mastoscale.selectorLabels" -}}
app.kubernetes.io/name: mastodon
app.kubernetes.io/instance: {{ .root.Values.release.name | quote }}
app.kubernetes.io/component: {{ printf "sidekiq-%s" .worker.name | quote }}
app.kubernetes.io/part-of: rails
{{- end -}}

{{/* Labels that say which Helm release owns an object. */}}
{{- define "mastoscale.helmLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
{{- end -}}

{{/* "true" when a worker is autoscaled, else "". */}}
{{- define "mastoscale.anyAutoscaled" -}}
{{- range .Values.workers -}}{{- if hasKey . "autoscale" -}}true{{- end -}}{{- end -}}
{{- end -}}

{{/* "true" when a worker has redis triggers (is autoscaled, not on mastoscale's scaler), else "". */}}
{{- define "mastoscale.anyRedisTriggers" -}}
{{- range .Values.workers -}}{{- if and (hasKey . "autoscale") (not (hasKey (.autoscale | default dict) "externalTriggers")) -}}true{{- end -}}{{- end -}}
{{- end -}}

{{/* The connection metadata of a redis trigger (render's connectionMetadata), for .Values.redis. */}}
{{- define "mastoscale.redisConnection" -}}
{{- if hasKey . "sentinel" }}
addresses: {{ join "," .sentinel.addresses | quote }}
sentinelMaster: {{ .sentinel.master | quote }}
{{- else if .address }}
address: {{ .address | quote }}
{{- else }}
host: {{ .host | quote }}
port: {{ .port | int64 | toString | quote }}
{{- end }}
{{- if hasKey . "databaseIndex" }}
databaseIndex: {{ .databaseIndex | int64 | toString | quote }}
{{- end }}
{{- with .tls }}
{{- if .enabled }}
enableTLS: "true"
{{- if .unsafeSsl }}
unsafeSsl: "true"
{{- end }}
{{- end }}
{{- end }}
{{- if .username }}
username: {{ .username | quote }}
{{- end }}
{{- end -}}
