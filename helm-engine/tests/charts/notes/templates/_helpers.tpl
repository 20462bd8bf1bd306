{{- define "notes.extra" -}}
chart {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
