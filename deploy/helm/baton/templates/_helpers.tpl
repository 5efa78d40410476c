{{/*
Names, labels and the values every template shares.
*/}}

{{- define "baton.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's base name: <release>-baton, or the release name if it
already contains the chart's name. */}}
{{- define "baton.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "baton.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object; pass the component as .component. */}}
{{- define "baton.labels" -}}
helm.sh/chart: {{ include "baton.chart" .root }}
{{ include "baton.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: baton
{{- end -}}

{{/* Labels that select one component's pods. */}}
{{- define "baton.selectorLabels" -}}
app.kubernetes.io/name: {{ include "baton.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "baton.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}

{{- define "baton.configMapName" -}}
{{- printf "%s-config" (include "baton.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* etcd's StatefulSet. At most 52 characters: the StatefulSet controller
adds an 11-character revision hash to it in a label. */}}
{{- define "baton.etcd.name" -}}
{{- printf "%s-etcd" (include "baton.fullname" .) | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/* etcd's headless Service: stable DNS names for the members, published
before they are Ready so that they can find each other to form a quorum. */}}
{{- define "baton.etcd.headless" -}}
{{- printf "%s-headless" (include "baton.etcd.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The DNS suffix of etcd member names: <headless>.<namespace>.svc.<domain>. */}}
{{- define "baton.etcd.domain" -}}
{{- printf "%s.%s.svc.%s" (include "baton.etcd.headless" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/* Comma-separated name=peerURL of every member, for --initial-cluster. */}}
{{- define "baton.etcd.initialCluster" -}}
{{- $name := include "baton.etcd.name" . -}}
{{- $domain := include "baton.etcd.domain" . -}}
{{- $members := list -}}
{{- range $i := until (int .Values.etcd.replicas) -}}
{{- $members = append $members (printf "%s-%d=http://%s-%d.%s:%d" $name $i $name $i $domain (int $.Values.etcd.peerPort)) -}}
{{- end -}}
{{- join "," $members -}}
{{- end -}}

{{/* Comma-separated etcd endpoints the coordinators use: every member of the
chart's etcd, or externalEtcd.endpoints. */}}
{{- define "baton.etcd.endpoints" -}}
{{- if .Values.etcd.enabled -}}
{{- $name := include "baton.etcd.name" . -}}
{{- $domain := include "baton.etcd.domain" . -}}
{{- $eps := list -}}
{{- range $i := until (int .Values.etcd.replicas) -}}
{{- $eps = append $eps (printf "%s-%d.%s:%d" $name $i $domain (int $.Values.etcd.clientPort)) -}}
{{- end -}}
{{- join "," $eps -}}
{{- else -}}
{{- required "externalEtcd.endpoints: list at least one endpoint when etcd.enabled is false" (join "," .Values.externalEtcd.endpoints) -}}
{{- end -}}
{{- end -}}

{{/* The coordinator roles with what differs between them: the prefix of
their address and active-standby variables. */}}
{{- define "baton.roles" -}}
rootcoord: ROOT_COORD
datacoord: DATA_COORD
querycoord: QUERY_COORD
{{- end -}}

{{- define "baton.role.name" -}}
{{- printf "%s-%s" (include "baton.fullname" .root) .role | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Checks that hold for the whole release; included by every template that
depends on them, so that a bad value fails the render with a message. */}}
{{- define "baton.validate" -}}
{{- if not (has .Values.coordinators.readiness (list "active" "listening")) -}}
{{- fail (printf "coordinators.readiness %q: use active or listening" .Values.coordinators.readiness) -}}
{{- end -}}
{{- if and .Values.etcd.enabled (lt (int .Values.etcd.replicas) 1) -}}
{{- fail "etcd.replicas: at least 1 (3 or 5 for a cluster that survives the loss of members)" -}}
{{- end -}}
{{- if hasKey (.Values.config.etcd | default dict) "endpoints" -}}
{{- fail "config.etcd.endpoints: do not set it; the chart sets ETCD_ENDPOINTS from etcd or externalEtcd.endpoints" -}}
{{- end -}}
{{- end -}}
