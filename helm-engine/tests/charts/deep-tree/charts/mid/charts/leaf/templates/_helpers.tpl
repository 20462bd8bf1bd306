{{- define "leaf.helper" -}}
helper: from-leaf
{{- end -}}
