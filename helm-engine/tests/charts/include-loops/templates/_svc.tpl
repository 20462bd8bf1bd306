{{- define "svc" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .svc.name }}
  labels:
    release: {{ .root.Release.Name }}
    {{- range $k, $v := .svc.labels }}
    {{ $k }}: {{ $v }}
    {{- end }}
spec:
  ports:
  - port: {{ .svc.port }}
{{- end -}}
{{- define "counter" -}}{{ len . }}{{- end -}}
