{{- define "x" -}}from b ({{ .Values.name }}){{- end -}}
{{- define "onlyA" }}{{ end }}
{{/* a comment at file level */}}
