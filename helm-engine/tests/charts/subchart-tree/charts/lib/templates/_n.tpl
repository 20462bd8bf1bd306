{{- define "lib.name" -}}{{ .Chart.Name }}-{{ .Release.Name }}{{- end -}}
