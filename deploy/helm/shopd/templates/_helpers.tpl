{{/*
Chart name, truncated to the 63 characters a label value allows.
*/}}
{{- define "shopd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: RELEASE-shopd, or the release name alone when it already contains
the chart name. Truncated so that suffixes like "-worker" still fit in 63.
*/}}
{{- define "shopd.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "shopd.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Standard labels (app.kubernetes.io/*) plus commonLabels.
*/}}
{{- define "shopd.labels" -}}
helm.sh/chart: {{ include "shopd.chart" . }}
{{ include "shopd.selectorLabels" . }}
app.kubernetes.io/version: {{ include "shopd.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: shopd
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "shopd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shopd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of one component. Call with (dict "root" $ "component" "api").
*/}}
{{- define "shopd.componentLabels" -}}
{{ include "shopd.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "shopd.componentSelectorLabels" -}}
{{ include "shopd.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "shopd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "shopd.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
True ("true") when shopd runs on PostgreSQL, i.e. a database secret is given.
*/}}
{{- define "shopd.postgres" -}}
{{- if .Values.database.existingSecret }}true{{ end }}
{{- end }}

{{/*
True when a separate worker Deployment is rendered.
*/}}
{{- define "shopd.workerDeployment" -}}
{{- if and (include "shopd.postgres" .) .Values.worker.enabled }}true{{ end }}
{{- end }}

{{- define "shopd.storefrontDeployment" -}}
{{- if and (include "shopd.postgres" .) .Values.storefront.enabled }}true{{ end }}
{{- end }}

{{/*
Role of the API pods: "all" when they are the only pods (SQLite, or no worker
Deployment), else "api".
*/}}
{{- define "shopd.apiRole" -}}
{{- if include "shopd.workerDeployment" . }}api{{ else }}all{{ end }}
{{- end }}

{{- define "shopd.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "shopd.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "shopd.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
terminationGracePeriodSeconds: the preStop sleep, the drain delay and timeout,
and a margin, so SIGKILL never lands mid-drain.
*/}}
{{- define "shopd.terminationGracePeriodSeconds" -}}
{{- $d := .Values.drain }}
{{- add $d.preStopSleepSeconds $d.delaySeconds $d.timeoutSeconds $d.marginSeconds }}
{{- end }}

{{/*
Bytes in a Kubernetes memory quantity ("512Mi", "1.5Gi", "1G", "536870912").
The schema admits only these forms.
*/}}
{{- define "shopd.memoryBytes" -}}
{{- $q := toString . }}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $q }}
{{- $unit := trimPrefix $num $q }}
{{- $mult := dict "" 1 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 }}
{{- if not (hasKey $mult $unit) }}
{{- fail (printf "memory quantity %q: unit %q is not one of k, M, G, T, Ki, Mi, Gi, Ti" $q $unit) }}
{{- end }}
{{- mulf (float64 $num) (get $mult $unit) | floor | int64 }}
{{- end }}

{{/*
GOMEMLIMIT env entry from a resources block: goMemLimitPercent of the memory
limit, in MiB. The schema requires a memory limit on every container.
*/}}
{{- define "shopd.goMemLimitEnv" -}}
{{- $root := .root }}
{{- $pct := $root.Values.config.goMemLimitPercent | int }}
{{- $limit := dig "limits" "memory" "" .resources }}
{{- if and $limit (gt $pct 0) }}
{{- $bytes := include "shopd.memoryBytes" $limit | float64 }}
{{- $mib := divf (mulf $bytes $pct) 104857600 | floor | int64 }}
{{- if lt $mib 16 }}
{{- fail (printf "memory limit %v leaves GOMEMLIMIT at %dMiB; give at least 32Mi" $limit $mib) }}
{{- end }}
- name: GOMEMLIMIT
  value: {{ printf "%dMiB" $mib | quote }}
{{- end }}
{{- end }}

{{/*
Environment of every shopd container. Call with (dict "root" $ "resources" R "role" ROLE);
role is empty for the migration Job.
*/}}
{{- define "shopd.env" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- if .role }}
- name: SHOPD_ROLE
  value: {{ .role | quote }}
- name: SHOPD_ADDR
  value: {{ printf "0.0.0.0:%d" (int $v.config.port) | quote }}
- name: SHOPD_DEFAULT_MARKET
  value: {{ $v.config.defaultMarket | quote }}
- name: SHOPD_MAX_BODY_BYTES
  value: {{ $v.config.maxBodyBytes | int | toString | quote }}
- name: SHOPD_DRAIN_DELAY
  value: {{ printf "%ds" (int $v.drain.delaySeconds) | quote }}
- name: SHOPD_DRAIN_TIMEOUT
  value: {{ printf "%ds" (int $v.drain.timeoutSeconds) | quote }}
{{- end }}
- name: SHOPD_LOG_FORMAT
  value: {{ $v.config.logFormat | quote }}
- name: SHOPD_LOG_LEVEL
  value: {{ $v.config.logLevel | quote }}
{{- if include "shopd.postgres" $root }}
- name: SHOPD_DATABASE_URL_FILE
  value: {{ printf "%s/%s" (trimSuffix "/" $v.database.mountPath) $v.database.urlKey | quote }}
{{- else }}
- name: SHOPD_DATA_DIR
  value: /data
{{- end }}
{{- include "shopd.goMemLimitEnv" (dict "root" $root "resources" .resources) }}
{{- with $v.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Volumes of every shopd pod: /tmp, the database secret or the SQLite data, extras.
*/}}
{{- define "shopd.volumes" -}}
{{- $v := .Values }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if include "shopd.postgres" . }}
- name: database
  secret:
    secretName: {{ $v.database.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ $v.database.urlKey }}
        path: {{ $v.database.urlKey }}
{{- else if $v.sqlite.persistence.enabled }}
- name: data
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-data" (include "shopd.fullname" .)) $v.sqlite.persistence.existingClaim }}
{{- else }}
- name: data
  emptyDir: {}
{{- end }}
{{- with $v.config.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "shopd.volumeMounts" -}}
{{- $v := .Values }}
- name: tmp
  mountPath: /tmp
{{- if include "shopd.postgres" . }}
- name: database
  mountPath: {{ $v.database.mountPath }}
  readOnly: true
{{- else }}
- name: data
  mountPath: /data
{{- end }}
{{- with $v.config.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "shopd.podSecurityContext" -}}
runAsNonRoot: true
{{- with .Values.podSecurityContext }}
{{- if not (kindIs "invalid" .runAsUser) }}
runAsUser: {{ .runAsUser }}
{{- end }}
{{- if not (kindIs "invalid" .runAsGroup) }}
runAsGroup: {{ .runAsGroup }}
{{- end }}
{{- if not (kindIs "invalid" .fsGroup) }}
fsGroup: {{ .fsGroup }}
fsGroupChangePolicy: OnRootMismatch
{{- end }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "shopd.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "shopd.probes" -}}
{{- $p := .Values.probes }}
startupProbe:
  httpGet:
    path: /livez
    port: http
  periodSeconds: {{ $p.startup.periodSeconds }}
  timeoutSeconds: {{ $p.startup.timeoutSeconds }}
  failureThreshold: {{ $p.startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: /livez
    port: http
  periodSeconds: {{ $p.liveness.periodSeconds }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: {{ $p.readiness.periodSeconds }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
{{- end }}

{{/*
topologySpreadConstraints with a default labelSelector for the component.
Call with (dict "root" $ "component" C "constraints" LIST).
*/}}
{{- define "shopd.topologySpread" -}}
{{- $sel := include "shopd.componentSelectorLabels" . | fromYaml }}
{{- $out := list }}
{{- range .constraints }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" $sel) }}
{{- end }}
{{- $out = append $out $c }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
Checks that the schema cannot express. Included by every template, so any
render fails the same way.
*/}}
{{- define "shopd.validate" -}}
{{- $v := .Values }}
{{- if not (include "shopd.postgres" .) }}
{{- if gt (int $v.api.replicas) 1 }}
{{- fail "api.replicas > 1 needs PostgreSQL: set database.existingSecret (the embedded SQLite store allows one replica)" }}
{{- end }}
{{- if $v.api.autoscaling.enabled }}
{{- fail "api.autoscaling.enabled needs PostgreSQL: set database.existingSecret (the embedded SQLite store allows one replica)" }}
{{- end }}
{{- if $v.storefront.enabled }}
{{- fail "storefront.enabled needs PostgreSQL: set database.existingSecret (the embedded SQLite store allows one pod)" }}
{{- end }}
{{- end }}
{{- if and $v.api.autoscaling.enabled (gt (int $v.api.autoscaling.minReplicas) (int $v.api.autoscaling.maxReplicas)) }}
{{- fail "api.autoscaling.minReplicas must not exceed maxReplicas" }}
{{- end }}
{{- if and $v.api.autoscaling.enabled (eq (int $v.api.autoscaling.targetCPUUtilizationPercentage) 0) (not $v.api.autoscaling.requestsPerSecond.enabled) }}
{{- fail "api.autoscaling needs a metric: targetCPUUtilizationPercentage > 0 or requestsPerSecond.enabled" }}
{{- end }}
{{- if and (not $v.image.digest) (eq (include "shopd.imageTag" .) "latest") }}
{{- fail "image.tag \"latest\" is not reproducible: give a version tag or image.digest" }}
{{- end }}
{{- $pdb := $v.podDisruptionBudget }}
{{- if and $pdb.enabled (eq (kindIs "invalid" $pdb.maxUnavailable) (kindIs "invalid" $pdb.minAvailable)) }}
{{- fail "podDisruptionBudget: give exactly one of maxUnavailable and minAvailable" }}
{{- end }}
{{- if and (not (include "shopd.postgres" .)) $v.sqlite.persistence.existingClaim (not $v.sqlite.persistence.enabled) }}
{{- fail "sqlite.persistence.existingClaim needs sqlite.persistence.enabled" }}
{{- end }}
{{- end }}

{{/*
Pod template of a long-running component. Call with
(dict "root" $ "component" "api"|"worker"|"storefront" "role" ROLE "values" .Values.api|.Values.worker|.Values.storefront).
*/}}
{{- define "shopd.podTemplate" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $c := .values }}
metadata:
  labels:
    {{- include "shopd.componentLabels" (dict "root" $root "component" .component) | nindent 4 }}
    {{- with $c.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $c.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "shopd.serviceAccountName" $root }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ include "shopd.terminationGracePeriodSeconds" $root }}
  {{- with $c.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- include "shopd.podSecurityContext" $root | nindent 4 }}
  containers:
    - name: shopd
      image: {{ include "shopd.image" $root | quote }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      args: ["serve"]
      ports:
        - name: http
          containerPort: {{ $v.config.port }}
          protocol: TCP
      env:
        {{- include "shopd.env" (dict "root" $root "resources" $c.resources "role" .role) | trim | nindent 8 }}
      {{- include "shopd.probes" $root | trim | nindent 6 }}
      {{- if gt (int $v.drain.preStopSleepSeconds) 0 }}
      lifecycle:
        preStop:
          sleep:
            seconds: {{ $v.drain.preStopSleepSeconds }}
      {{- end }}
      resources:
        {{- toYaml $c.resources | nindent 8 }}
      securityContext:
        {{- include "shopd.containerSecurityContext" $root | nindent 8 }}
      volumeMounts:
        {{- include "shopd.volumeMounts" $root | trim | nindent 8 }}
  volumes:
    {{- include "shopd.volumes" $root | trim | nindent 4 }}
  {{- with $c.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- include "shopd.topologySpread" (dict "root" $root "component" $.component "constraints" .) | nindent 4 }}
  {{- end }}
{{- end }}
