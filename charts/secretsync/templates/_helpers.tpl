{{/* The name of every object: the release name. */}}
{{- define "secretsync.fullname" -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/* The labels of every object, and the pods' selector. */}}
{{- define "secretsync.labels" -}}
app.kubernetes.io/name: {{ include "secretsync.fullname" . }}
{{- end -}}
