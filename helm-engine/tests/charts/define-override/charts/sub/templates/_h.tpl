{{- define "x" -}}from sub ({{ .Values.name }}){{- end -}}
{{- define "subOnly" -}}sub-only {{ .Values.name }}{{- end -}}
