{{/*
The chart works like pkg/layout and pkg/render: "mastoscale.spec" defaults the values exactly
as layout.Default does and checks them, and the templates render the defaulted spec. Numbers
are tested for presence with hasKey, never with default/coalesce, which treat 0 as unset
(minReplicas: 0 must stay 0).
*/}}

{{/* "true" when map (index . 0) holds a non-null key (index . 1): a set pointer in Go. */}}
{{- define "mastoscale.has" -}}
{{- $m := index . 0 -}}
{{- $k := index . 1 -}}
{{- if and (kindIs "map" $m) (hasKey $m $k) -}}
{{- if not (kindIs "invalid" (index $m $k)) -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* The charts' fullname rule (mastodon.Fullname) for release name ".". */}}
{{- define "mastoscale.fullname" -}}
{{- $n := toString . -}}
{{- if not (contains "mastodon" $n) -}}{{- $n = printf "%s-mastodon" $n -}}{{- end -}}
{{- $n | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "major.minor" of Mastodon version ".", or "" when it is not a version (mastodon.ParseVersion). */}}
{{- define "mastoscale.version" -}}
{{- $t := trimPrefix "v" (trim (toString .)) -}}
{{- $t = regexReplaceAll "[-+].*$" $t "" -}}
{{- if regexMatch "^[0-9]+\\.[0-9]+(\\.[0-9]+)?$" $t -}}
{{- $p := splitList "." $t -}}
{{- printf "%d.%d" (atoi (index $p 0)) (atoi (index $p 1)) -}}
{{- end -}}
{{- end -}}

{{/* Queue names of Mastodon version "major.minor" (mastodon.Queues), JSON list. */}}
{{- define "mastoscale.queues" -}}
{{- $p := splitList "." . -}}
{{- $v := add (mul (atoi (index $p 0)) 1000) (atoi (index $p 1)) -}}
{{- $qs := list "default" "push" -}}
{{- if ge $v 4000 -}}{{- $qs = append $qs "ingress" -}}{{- end -}}
{{- $qs = concat $qs (list "mailers" "pull" "scheduler") -}}
{{- if ge $v 4004 -}}{{- $qs = append $qs "fasp" -}}{{- end -}}
{{- toJson $qs -}}
{{- end -}}

{{/*
mastoscale.spec: the values defaulted as layout.Default defaults a layout's spec, as JSON.
It fails when the values break a rule values.schema.json cannot express.
*/}}
{{- define "mastoscale.spec" -}}
{{- $v := .Values -}}
{{- $s := dict "deployments" (and (kindIs "map" $v.deployments) $v.deployments.enabled | toString | eq "true") -}}
{{- $_ := set $s "mastodonVersion" (default "4.6" $v.mastodonVersion) -}}
{{- $_ = set $s "database" (deepCopy (default dict $v.database)) -}}

{{- $rel := deepCopy (default dict $v.release) -}}
{{- $_ = set $rel "name" (default "mastodon" $rel.name) -}}
{{- $_ = set $rel "chart" (default "mastodon/chart" $rel.chart) -}}
{{- $derived := include "mastoscale.fullname" $rel.name -}}
{{- $_ = set $rel "fullname" (default $derived $rel.fullname) -}}
{{- $_ = set $s "release" $rel -}}
{{- $legacy := ne $rel.chart "mastodon/helm-charts" -}}

{{- $version := include "mastoscale.version" $s.mastodonVersion -}}
{{- $image := $v.image -}}
{{- if and (not $image) $version -}}{{- $image = printf "ghcr.io/mastodon/mastodon:v%s" $version -}}{{- end -}}
{{- $_ = set $s "image" (default "" $image) -}}

{{- $r := deepCopy (default dict $v.redis) -}}
{{- if and (not $r.host) (not $r.address) (not (include "mastoscale.has" (list $r "sentinel"))) $legacy -}}
{{- $_ = set $r "host" (printf "%s-redis-master" $rel.name) -}}
{{- end -}}
{{- if and $r.host (not (include "mastoscale.has" (list $r "port"))) -}}
{{- $_ = set $r "port" 6379 -}}
{{- end -}}
{{- $secret := ternary (printf "%s-redis-auth" $derived) (printf "%s-redis" $rel.name) (not $legacy) -}}
{{- $key := ternary "password" "redis-password" (not $legacy) -}}
{{- if not (include "mastoscale.has" (list $r "auth")) -}}
{{- $_ = set $r "auth" (dict "secretName" $secret "passwordKey" $key) -}}
{{- end -}}
{{- if not $r.auth.disabled -}}
{{- $_ = set $r.auth "passwordKey" (default $key $r.auth.passwordKey) -}}
{{- $_ = set $r.auth "triggerAuthenticationName" (default (printf "%s-sidekiq-redis" $rel.fullname) $r.auth.triggerAuthenticationName) -}}
{{- end -}}
{{- $_ = set $s "redis" $r -}}

{{- $presets := dict
  "conservative" (dict
    "scaleUp" (dict "stabilizationWindowSeconds" 300 "policies" (list (dict "type" "Pods" "value" 1 "periodSeconds" 60)))
    "scaleDown" (dict "stabilizationWindowSeconds" 600 "policies" (list (dict "type" "Pods" "value" 1 "periodSeconds" 300))))
  "balanced" (dict
    "scaleUp" (dict "stabilizationWindowSeconds" 0 "selectPolicy" "Max" "policies" (list (dict "type" "Pods" "value" 2 "periodSeconds" 30) (dict "type" "Percent" "value" 50 "periodSeconds" 30)))
    "scaleDown" (dict "stabilizationWindowSeconds" 300 "policies" (list (dict "type" "Pods" "value" 1 "periodSeconds" 120))))
  "aggressive" (dict
    "scaleUp" (dict "stabilizationWindowSeconds" 0 "selectPolicy" "Max" "policies" (list (dict "type" "Pods" "value" 4 "periodSeconds" 15) (dict "type" "Percent" "value" 100 "periodSeconds" 15)))
    "scaleDown" (dict "stabilizationWindowSeconds" 120 "policies" (list (dict "type" "Pods" "value" 2 "periodSeconds" 60))))
-}}
{{- $workers := list -}}
{{- range $w := deepCopy (default list $v.workers) -}}
{{- if not (include "mastoscale.has" (list $w "concurrency")) -}}{{- $_ = set $w "concurrency" 25 -}}{{- end -}}
{{- if not (include "mastoscale.has" (list $w "timeout")) -}}{{- $_ = set $w "timeout" 25 -}}{{- end -}}
{{- if not (include "mastoscale.has" (list $w "terminationGracePeriodSeconds")) -}}
{{- $_ = set $w "terminationGracePeriodSeconds" (add (int64 $w.timeout) 5) -}}
{{- end -}}
{{- if include "mastoscale.has" (list $w "autoscale") -}}
{{- $a := $w.autoscale -}}
{{- if not (include "mastoscale.has" (list $a "minReplicas")) -}}{{- $_ = set $a "minReplicas" 1 -}}{{- end -}}
{{- if not (include "mastoscale.has" (list $a "maxReplicas")) -}}{{- $_ = set $a "maxReplicas" (max 4 (int64 $a.minReplicas)) -}}{{- end -}}
{{- if not (include "mastoscale.has" (list $a "listLength")) -}}{{- $_ = set $a "listLength" 1500 -}}{{- end -}}
{{- if not (include "mastoscale.has" (list $a "pollingInterval")) -}}{{- $_ = set $a "pollingInterval" 30 -}}{{- end -}}
{{- if not (include "mastoscale.has" (list $a "cooldownPeriod")) -}}{{- $_ = set $a "cooldownPeriod" 300 -}}{{- end -}}
{{- if not (include "mastoscale.has" (list $a "fallback")) -}}{{- $_ = set $a "fallback" dict -}}{{- end -}}
{{- if not $a.fallback.disabled -}}
{{- if not (include "mastoscale.has" (list $a.fallback "failureThreshold")) -}}{{- $_ = set $a.fallback "failureThreshold" 3 -}}{{- end -}}
{{- if not (include "mastoscale.has" (list $a.fallback "replicas")) -}}{{- $_ = set $a.fallback "replicas" 2 -}}{{- end -}}
{{- end -}}
{{- if not (include "mastoscale.has" (list $a "behavior")) -}}{{- $_ = set $a "behavior" dict -}}{{- end -}}
{{- if and $a.behaviorPreset (hasKey $presets $a.behaviorPreset) -}}
{{- /* A direction written out in behavior wins over the preset's (layout.BehaviorPresets). */ -}}
{{- $p := get $presets $a.behaviorPreset -}}
{{- range $k := list "scaleUp" "scaleDown" -}}
{{- if not (include "mastoscale.has" (list $a.behavior $k)) -}}{{- $_ = set $a.behavior $k (deepCopy (get $p $k)) -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- if include "mastoscale.has" (list $a "latencyTrigger") -}}
{{- $_ = set $a.latencyTrigger "exporter" (default "mastodon" $a.latencyTrigger.exporter) -}}
{{- end -}}
{{- if not (include "mastoscale.has" (list $a.behavior "scaleUp")) -}}
{{- $_ = set $a.behavior "scaleUp" (dict "stabilizationWindowSeconds" 300 "policies" (list (dict "type" "Pods" "value" 1 "periodSeconds" 60))) -}}
{{- end -}}
{{- else if not (include "mastoscale.has" (list $w "replicas")) -}}
{{- $_ = set $w "replicas" 1 -}}
{{- end -}}
{{- $workers = append $workers $w -}}
{{- end -}}
{{- $_ = set $s "workers" $workers -}}
{{- include "mastoscale.validate" (dict "spec" $s "version" $version) -}}
{{- toJson $s -}}
{{- end -}}

{{/*
mastoscale.validate fails with every problem of a defaulted spec that the schema cannot see,
each with its values path and what to do, as layout.Validate words them.
*/}}
{{- define "mastoscale.validate" -}}
{{- $s := .spec -}}
{{- $version := .version -}}
{{- $errs := list -}}
{{- $vnum := 0 -}}
{{- if $version -}}
{{- $p := splitList "." $version -}}
{{- $vnum = add (mul (atoi (index $p 0)) 1000) (atoi (index $p 1)) -}}
{{- end -}}
{{- $catalogue := list -}}
{{- if not $version -}}
{{- $errs = append $errs (printf "mastodonVersion: Invalid value: %q: write major.minor, e.g. \"4.3\"" $s.mastodonVersion) -}}
{{- else if lt (int64 $vnum) 3003 -}}
{{- $errs = append $errs (printf "mastodonVersion: Invalid value: %q: Mastodon before 3.3 is not supported" $s.mastodonVersion) -}}
{{- else -}}
{{- $catalogue = include "mastoscale.queues" $version | fromJsonArray -}}
{{- end -}}

{{- $r := $s.redis -}}
{{- $targets := 0 -}}
{{- if $r.host -}}{{- $targets = add1 $targets -}}{{- end -}}
{{- if $r.address -}}{{- $targets = add1 $targets -}}{{- end -}}
{{- if include "mastoscale.has" (list $r "sentinel") -}}{{- $targets = add1 $targets -}}{{- end -}}
{{- if eq (int64 $targets) 0 -}}
{{- $errs = append $errs "redis.host: Required value: the chart bundles no Redis: set redis.host (Sidekiq's REDIS_HOST or SIDEKIQ_REDIS_HOST), redis.address or redis.sentinel" -}}
{{- else if gt (int64 $targets) 1 -}}
{{- $errs = append $errs "redis: Invalid value: set only one of host, address and sentinel" -}}
{{- end -}}
{{- if and (not $r.auth.disabled) (not $r.auth.secretName) -}}
{{- $errs = append $errs "redis.auth.secretName: Required value: name the Secret holding the Redis password, or set auth.disabled: true for a Redis without one" -}}
{{- end -}}
{{- if and $r.namespace $version (ge (int64 $vnum) 4004) -}}
{{- $errs = append $errs (printf "redis.namespace: Invalid value: %q: REDIS_NAMESPACE was removed in Mastodon 4.4 and %s refuses to boot with it: migrate the keys and remove redis.namespace, or set mastodonVersion to the release you really run" $r.namespace $version) -}}
{{- end -}}

{{- $names := dict -}}
{{- $consumers := dict -}}
{{- $scheduler := "" -}}
{{- $sidekiq := 0 -}}
{{- range $i, $w := $s.workers -}}
{{- $wp := printf "workers[%d]" $i -}}
{{- if hasKey $names $w.name -}}
{{- $errs = append $errs (printf "%s.name: Duplicate value: %q" $wp $w.name) -}}
{{- end -}}
{{- $_ := set $names $w.name true -}}
{{- $full := printf "%s-sidekiq-%s" $s.release.fullname $w.name -}}
{{- if gt (len $full) 54 -}}
{{- $errs = append $errs (printf "%s.name: Invalid value: %q: the Deployment and ScaledObject name %q is %d characters; KEDA allows 54 (its HPA is keda-hpa-<name>): shorten the worker or release name" $wp $w.name $full (len $full)) -}}
{{- end -}}
{{- $auto := include "mastoscale.has" (list $w "autoscale") -}}
{{- if and $auto (include "mastoscale.has" (list $w "replicas")) -}}
{{- $errs = append $errs (printf "%s.replicas: Invalid value: %d: a worker has fixed replicas or autoscale, not both: remove one" $wp (int64 $w.replicas)) -}}
{{- end -}}
{{- if le (int64 $w.terminationGracePeriodSeconds) (int64 $w.timeout) -}}
{{- $errs = append $errs (printf "%s.terminationGracePeriodSeconds: Invalid value: %d: must exceed Sidekiq's timeout (%d s), or scale-in kills running jobs: raise it or lower timeout" $wp (int64 $w.terminationGracePeriodSeconds) (int64 $w.timeout)) -}}
{{- end -}}
{{- if $auto -}}
{{- if gt (int64 $w.autoscale.minReplicas) (int64 $w.autoscale.maxReplicas) -}}
{{- $errs = append $errs (printf "%s.autoscale.maxReplicas: Invalid value: %d: must be at least minReplicas (%d)" $wp (int64 $w.autoscale.maxReplicas) (int64 $w.autoscale.minReplicas)) -}}
{{- end -}}
{{- $lt := $w.autoscale.latencyTrigger -}}
{{- if and (kindIs "map" $lt) (eq $lt.exporter "mastodon") $version (lt (int64 $vnum) 4004) -}}
{{- $errs = append $errs (printf "%s.autoscale.latencyTrigger.exporter: Invalid value: \"mastodon\": Mastodon's built-in Prometheus exporter exists from 4.4 on, and these values are for %s: run sidekiq-prometheus-exporter and set exporter: sidekiq-prometheus-exporter, or raise mastodonVersion" $wp $version) -}}
{{- end -}}
{{- $sidekiq = add $sidekiq (mul (int64 $w.autoscale.maxReplicas) (int64 $w.concurrency)) -}}
{{- else -}}
{{- $sidekiq = add $sidekiq (mul (int64 $w.replicas) (int64 $w.concurrency)) -}}
{{- end -}}
{{- $seen := dict -}}
{{- range $j, $q := $w.queues -}}
{{- $qp := printf "%s.queues[%d]" $wp $j -}}
{{- if hasKey $seen $q.name -}}
{{- $errs = append $errs (printf "%s.name: Duplicate value: %q" $qp $q.name) -}}
{{- end -}}
{{- $_ := set $seen $q.name true -}}
{{- if and $catalogue (not (has $q.name $catalogue)) -}}
{{- $errs = append $errs (printf "%s.name: Unsupported value: %q: Mastodon %s has the queues %s" $qp $q.name $version (join ", " $catalogue)) -}}
{{- end -}}
{{- if and (not $auto) (include "mastoscale.has" (list $q "listLength")) -}}
{{- $errs = append $errs (printf "%s.listLength: Invalid value: %d: only autoscaled workers have triggers: add an autoscale block or remove listLength" $qp (int64 $q.listLength)) -}}
{{- end -}}
{{- $_ = set $consumers $q.name (append (get $consumers $q.name | default list) $qp) -}}
{{- if eq $q.name "scheduler" -}}
{{- if $scheduler -}}
{{- $errs = append $errs (printf "%s.name: Invalid value: \"scheduler\": worker %q consumes \"scheduler\", which worker %q already consumes; a second consumer enqueues every periodic job twice: keep it in exactly one worker" $qp $w.name $scheduler) -}}
{{- else -}}
{{- $scheduler = $w.name -}}
{{- end -}}
{{- if $auto -}}
{{- $errs = append $errs (printf "%s.autoscale: Invalid value: worker %q consumes \"scheduler\", which must run in exactly one process: remove autoscale, or move \"scheduler\" to a worker of its own" $wp $w.name) -}}
{{- else if ne (int64 $w.replicas) 1 -}}
{{- $errs = append $errs (printf "%s.replicas: Invalid value: %d: worker %q consumes \"scheduler\", which must run in exactly one process: set replicas to 1" $wp (int64 $w.replicas) $w.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* With deployments.enabled the values are the whole layout: every queue needs a consumer
       and the Postgres budget must hold. In attach mode they list only the autoscaled workers. */ -}}
{{- if $s.deployments -}}
{{- range $q := $catalogue -}}
{{- if not (hasKey $consumers $q) -}}
{{- if eq $q "scheduler" -}}
{{- $errs = append $errs "workers: Invalid value: \"scheduler\": no worker consumes \"scheduler\", so no periodic job would run: give exactly one worker (with one replica) that queue" -}}
{{- else -}}
{{- $errs = append $errs (printf "workers: Invalid value: %q: queue %q is consumed by no worker, so its jobs would wait forever: add it to a worker's queues" $q $q) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $max := int64 (default 0 $s.database.maxConnections) -}}
{{- $reserved := int64 (default 0 $s.database.reserved) -}}
{{- if gt $max 0 -}}
{{- if ge $reserved $max -}}
{{- $errs = append $errs (printf "database.reserved: Invalid value: %d: leaves no connections for Sidekiq under maxConnections (%d)" $reserved $max) -}}
{{- else if gt (add $sidekiq $reserved) $max -}}
{{- $errs = append $errs (printf "database.maxConnections: Invalid value: %d: at max replicas Sidekiq uses %d connections + %d reserved = %d, %d over the limit: lower maxReplicas or concurrency, raise max_connections, or put PgBouncer in front" $max (int64 $sidekiq) $reserved (add $sidekiq $reserved) (sub (add $sidekiq $reserved) $max)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- if $errs -}}
{{- fail (printf "invalid values (%d):\n  %s" (len $errs) (join "\n  " $errs)) -}}
{{- end -}}
{{- end -}}

{{/* Labels both Mastodon charts select a worker's pods by (mastodon.SidekiqSelectorLabels). */}}
{{- define "mastoscale.selectorLabels" -}}
app.kubernetes.io/name: mastodon
app.kubernetes.io/instance: {{ .release | quote }}
app.kubernetes.io/component: {{ printf "sidekiq-%s" .worker | quote }}
app.kubernetes.io/part-of: rails
{{- end -}}

{{/* Labels that say which Helm release owns an object. */}}
{{- define "mastoscale.helmLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
{{- end -}}

{{/* Whether any worker is autoscaled: "true" or "". */}}
{{- define "mastoscale.anyAutoscaled" -}}
{{- range .workers -}}{{- if include "mastoscale.has" (list . "autoscale") -}}true{{- end -}}{{- end -}}
{{- end -}}

{{/*
mastoscale.warnings: layout.Validate's warnings for a defaulted spec, as a JSON list. They do
not stop rendering; NOTES.txt shows them.
*/}}
{{- define "mastoscale.warnings" -}}
{{- $s := . -}}
{{- $warns := list -}}
{{- $version := include "mastoscale.version" $s.mastodonVersion -}}
{{- if $version -}}
{{- $p := splitList "." $version -}}
{{- $vnum := add (mul (atoi (index $p 0)) 1000) (atoi (index $p 1)) -}}
{{- if gt (int64 $vnum) 4006 -}}
{{- $warns = append $warns (printf "mastodonVersion: queues of Mastodon %s are not known to mastoscale; assuming those of 4.6" $version) -}}
{{- end -}}
{{- if and $s.redis.namespace (eq (int64 $vnum) 4003) -}}
{{- $warns = append $warns (printf "redis.namespace: %q: REDIS_NAMESPACE is deprecated in Mastodon 4.3 and removed in 4.4: plan the key migration before upgrading" $s.redis.namespace) -}}
{{- end -}}
{{- end -}}
{{- $consumers := dict -}}
{{- range $i, $w := $s.workers -}}
{{- if gt (int64 $w.concurrency) 30 -}}
{{- $warns = append $warns (printf "workers[%d].concurrency: %d: Sidekiq gains little beyond 30 threads per process: lower concurrency and raise replicas" $i (int64 $w.concurrency)) -}}
{{- end -}}
{{- if include "mastoscale.has" (list $w "autoscale") -}}
{{- $f := $w.autoscale.fallback -}}
{{- if and (not $f.disabled) (gt (int64 $f.replicas) (int64 $w.autoscale.maxReplicas)) -}}
{{- $warns = append $warns (printf "workers[%d].autoscale.fallback.replicas: %d: is above maxReplicas (%d): the HPA clamps it" $i (int64 $f.replicas) (int64 $w.autoscale.maxReplicas)) -}}
{{- end -}}
{{- if eq (int64 $w.autoscale.minReplicas) 0 -}}
{{- $qs := list -}}{{- range $w.queues -}}{{- $qs = append $qs (printf "%q" .name) -}}{{- end -}}
{{- $warns = append $warns (printf "workers[%d].autoscale.minReplicas: 0: worker %q sleeps while its queues are empty; Mastodon's admin dashboard then reports %s as having no process, which is expected" $i $w.name (join ", " $qs)) -}}
{{- end -}}
{{- end -}}
{{- range $j, $q := $w.queues -}}
{{- if and (hasKey $consumers $q.name) (ne $q.name "scheduler") (eq (get $consumers $q.name) "first") -}}
{{- $warns = append $warns (printf "workers[%d].queues[%d]: queue %q is consumed by several workers; each one's triggers scale on the whole backlog" $i $j $q.name) -}}
{{- $_ := set $consumers $q.name "warned" -}}
{{- else if not (hasKey $consumers $q.name) -}}
{{- $_ := set $consumers $q.name "first" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $warns -}}
{{- end -}}
