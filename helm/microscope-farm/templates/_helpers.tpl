{{/*
Names, labels and the pieces every farm pod shares. Helpers take the root context (.) unless
their comment says otherwise.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "microscope-farm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every resource name: fullnameOverride, else the release name followed by the chart
name unless the release name already contains it. Trimmed so that "-render-<pool>" still fits.
*/}}
{{- define "microscope-farm.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "microscope-farm.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "microscope-farm.labels" -}}
helm.sh/chart: {{ include "microscope-farm.chart" . }}
{{ include "microscope-farm.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: microscope-farm
{{- end }}

{{/* Labels that select the release's pods (every component); a Deployment adds its component and pool. */}}
{{- define "microscope-farm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "microscope-farm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The labels Orleans Kubernetes hosting reads from every silo pod. */}}
{{- define "microscope-farm.orleansLabels" -}}
orleans/serviceId: {{ .Values.orleans.serviceId | quote }}
orleans/clusterId: {{ .Values.orleans.clusterId | quote }}
{{- if .Values.storage.workloadIdentity.enabled }}
azure.workload.identity/use: "true"
{{- end }}
{{- end }}

{{/* The ServiceAccount farm pods run as. */}}
{{- define "microscope-farm.serviceAccountName" -}}
{{- if .Values.orleans.serviceAccount.create }}
{{- default (include "microscope-farm.fullname" .) .Values.orleans.serviceAccount.name }}
{{- else }}
{{- required "orleans.serviceAccount.name is needed when orleans.serviceAccount.create is false" .Values.orleans.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* An image reference; takes an image block (repository, tag, pullPolicy) as .image and the root as .root. */}}
{{- define "microscope-farm.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) }}
{{- end }}

{{/*
Farm__Cluster__ShutdownTimeout as a TimeSpan (hh:mm:ss): a bare number would be read as days.
Refuses to render when the pod's grace period does not outlast the shutdown timeout, since then
Kubernetes kills silos before their leases are handed back.
*/}}
{{- define "microscope-farm.shutdownTimeout" -}}
{{- $seconds := int .Values.orleans.shutdown.timeoutSeconds }}
{{- $grace := int .Values.orleans.shutdown.terminationGracePeriodSeconds }}
{{- if le $grace $seconds }}
{{- fail (printf "orleans.shutdown.terminationGracePeriodSeconds (%d) must be greater than orleans.shutdown.timeoutSeconds (%d)" $grace $seconds) }}
{{- end }}
{{- printf "%02d:%02d:%02d" (div $seconds 3600) (mod (div $seconds 60) 60) (mod $seconds 60) }}
{{- end }}

{{/*
Environment every silo gets: Orleans Kubernetes hosting (pod name, namespace and IP from the
downward API, service and cluster ids), clustering, storage and telemetry. Takes .root and
.component (api, or the pool's name) and .httpPort.
*/}}
{{- define "microscope-farm.siloEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: ORLEANS_SERVICE_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['orleans/serviceId']
- name: ORLEANS_CLUSTER_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['orleans/clusterId']
- name: Farm__Http__Url
  value: {{ printf "http://0.0.0.0:%d" (int .httpPort) | quote }}
- name: Farm__Cluster__Clustering
  value: kubernetes
- name: Farm__Cluster__ServiceId
  value: {{ .root.Values.orleans.serviceId | quote }}
- name: Farm__Cluster__ClusterId
  value: {{ .root.Values.orleans.clusterId | quote }}
- name: Farm__Cluster__ShutdownTimeout
  value: {{ include "microscope-farm.shutdownTimeout" .root | quote }}
- name: Farm__Store__Kind
  value: blob
- name: Farm__Store__Container
  value: {{ .root.Values.storage.container | quote }}
{{- if .root.Values.storage.workloadIdentity.enabled }}
- name: Farm__Store__BlobServiceUri
  value: {{ required "storage.workloadIdentity.blobServiceUri is needed with workload identity" .root.Values.storage.workloadIdentity.blobServiceUri | quote }}
- name: Farm__Store__TableServiceUri
  value: {{ required "storage.workloadIdentity.tableServiceUri is needed with workload identity" .root.Values.storage.workloadIdentity.tableServiceUri | quote }}
{{- else }}
- name: Farm__Store__ConnectionString
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.storage.connectionString.secretName | quote }}
      key: {{ .root.Values.storage.connectionString.secretKey | quote }}
{{- end }}
- name: OTEL_SERVICE_NAME
  value: microscope-farm
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "k8s.namespace.name=$(POD_NAMESPACE),k8s.pod.name=$(POD_NAME),service.instance.id=$(POD_NAME),microscope.component=%s" .component | quote }}
{{- if .root.Values.telemetry.otlp.enabled }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .root.Values.telemetry.otlp.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ .root.Values.telemetry.otlp.protocol | quote }}
{{- end }}
{{- end }}

{{/* The container ports of a silo; takes .httpPort. Orleans hosting listens on its default ports (see README). */}}
{{- define "microscope-farm.siloPorts" -}}
- name: http
  containerPort: {{ .httpPort }}
  protocol: TCP
- name: silo
  containerPort: 11111
  protocol: TCP
- name: gateway
  containerPort: 30000
  protocol: TCP
{{- end }}

{{/* Startup, readiness and liveness probes of a silo container; takes the root context. */}}
{{- define "microscope-farm.probes" -}}
startupProbe:
  httpGet:
    path: /alive
    port: http
  periodSeconds: {{ .Values.probes.startup.periodSeconds }}
  failureThreshold: {{ .Values.probes.startup.failureThreshold }}
  timeoutSeconds: {{ .Values.probes.startup.timeoutSeconds }}
readinessProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
  timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
livenessProbe:
  httpGet:
    path: /alive
    port: http
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
  timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
{{- end }}

{{/* Pod-level settings shared by every farm pod: service account, grace period, pull secrets, security context; takes the root context. */}}
{{- define "microscope-farm.podSpec" -}}
serviceAccountName: {{ include "microscope-farm.serviceAccountName" . }}
terminationGracePeriodSeconds: {{ .Values.orleans.shutdown.terminationGracePeriodSeconds }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
