{{/* The objects' name: the release name when it already says dittofs-operator. */}}
{{- define "dittofs-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels: the same as the kustomize install's. */}}
{{- define "dittofs-operator.selectorLabels" -}}
app.kubernetes.io/name: dittofs-operator
{{- end -}}

{{- define "dittofs-operator.labels" -}}
{{ include "dittofs-operator.selectorLabels" . }}
app.kubernetes.io/part-of: dittofs-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "dittofs-operator.watchNamespace" -}}
{{- .Values.namespaced.watchNamespace | default .Release.Namespace -}}
{{- end -}}
