{{- define "common.name" -}}parent-name{{- end -}}
