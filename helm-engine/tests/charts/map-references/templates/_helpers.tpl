{{- define "refs.fill" -}}
{{- $_ := set .out "filled" "yes" -}}
{{- $_ := set .root.Values "fromInclude" .name -}}
{{- end -}}
{{- define "refs.mutateDot" -}}
{{- $_ := set . "touched" true -}}
{{- end -}}
