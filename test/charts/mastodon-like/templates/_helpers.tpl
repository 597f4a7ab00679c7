{{- define "mastodon.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains "mastodon" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-mastodon" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mastodon.labels" -}}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
app.kubernetes.io/name: mastodon
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "mastodon.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "mastodon.redisSecret" -}}
{{- if .Values.redis.existingSecret -}}{{ .Values.redis.existingSecret }}
{{- else if eq .Values.style "legacy" -}}{{ .Release.Name }}-redis
{{- else -}}{{ include "mastodon.fullname" . }}-redis-auth{{- end -}}
{{- end -}}

{{- define "mastodon.redisSecretKey" -}}
{{- if .Values.redis.secretKey -}}{{ .Values.redis.secretKey }}
{{- else if eq .Values.style "legacy" -}}redis-password
{{- else -}}password{{- end -}}
{{- end -}}
