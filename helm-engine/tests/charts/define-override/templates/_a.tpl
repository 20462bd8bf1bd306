{{- define "x" -}}from a ({{ .Values.name }}){{- end -}}
{{- define "blk" -}}a-blk{{- end -}}
{{- define "onlyA" }}only-a{{ end }}
