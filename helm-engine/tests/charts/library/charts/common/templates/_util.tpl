{{- define "common.labels" -}}
app: {{ .Release.Name }}
chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "common.greeting" -}}
{{ .Values.common.greeting | default "none" }}
{{- end -}}
{{/* A template the parent overrides: the parent's definition wins (it is parsed later). */}}
{{- define "common.name" -}}library-name{{- end -}}
