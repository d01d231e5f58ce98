{{/* Names, labels and the pieces several templates share. */}}

{{- define "bulwark.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every resource name; short enough for "<fullname>-serving" and friends. */}}
{{- define "bulwark.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "bulwark.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bulwark.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bulwark.labels" -}}
{{ include "bulwark.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "bulwark.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "bulwark.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "bulwark.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding tls.crt and tls.key for the pods. */}}
{{- define "bulwark.tlsSecretName" -}}
{{- if eq .Values.tls.mode "secret" -}}
{{- .Values.tls.secret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "bulwark.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* DNS names the apiserver may use for the Service, plus tls.extraDnsNames; a JSON list. */}}
{{- define "bulwark.dnsNames" -}}
{{- $svc := include "bulwark.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $names := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- concat $names .Values.tls.extraDnsNames | uniq | toJson -}}
{{- end -}}

{{/* Bulwark answers within this deadline, 2 s before the apiserver would give up on it. */}}
{{- define "bulwark.decisionTimeoutSeconds" -}}
{{- sub (int .Values.webhook.timeoutSeconds) 2 -}}
{{- end -}}

{{/*
Namespaces no webhook entry ever sees: kube-system and the release namespace (so the
cluster and Bulwark itself stay repairable whatever happens to Bulwark) and
webhook.excludedNamespaces. By name only: kubernetes.io/metadata.name is set by the
apiserver, so labelling a namespace cannot exempt it.
*/}}
{{- define "bulwark.excludedNamespaces" -}}
{{- concat (list "kube-system" .Release.Namespace) .Values.webhook.excludedNamespaces | uniq | toJson -}}
{{- end -}}

{{- define "bulwark.namespaceSelector" -}}
{{- $root := .root | default . -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ include "bulwark.excludedNamespaces" $root }}
  {{- if and .mark $root.Values.webhook.namespaceMarks }}
  # Bulwark's loop marks namespaces where this entry has nothing to decide (README:
  # "A smaller fail-closed blast radius"); only Bulwark may set the mark.
  - key: {{ .mark }}
    operator: NotIn
    values: ["none"]
  {{- end }}
{{- end -}}

{{/*
What every webhook entry shares: where to call, how to fail, the namespaces it never sees.
Takes (dict "root" $ "caBundle" <base64 PEM or ""> ["failurePolicy" <overrides the value>]
["mark" <the namespace mark that keeps this entry away: bulwark.dev/locks or bulwark.dev/images>]).
sideEffects NoneOnDryRun: before admitting a lock into a namespace Bulwark removes the
namespace's bulwark.dev/locks mark, and before admitting an ImagePolicy the bulwark.dev/images
mark of every namespace it applies to (never on a dry run).
*/}}
{{- define "bulwark.webhookCommon" -}}
{{- $root := .root -}}
clientConfig:
  {{- if $root.Values.webhook.url }}
  url: {{ $root.Values.webhook.url | quote }}
  {{- else }}
  service:
    name: {{ include "bulwark.fullname" $root }}
    namespace: {{ $root.Release.Namespace }}
    path: /validate
    port: {{ $root.Values.service.port }}
  {{- end }}
  {{- if .caBundle }}
  caBundle: {{ .caBundle }}
  {{- end }}
failurePolicy: {{ .failurePolicy | default $root.Values.webhook.failurePolicy }}
sideEffects: NoneOnDryRun
admissionReviewVersions: ["v1"]
matchPolicy: Equivalent
timeoutSeconds: {{ $root.Values.webhook.timeoutSeconds }}
namespaceSelector:
  {{- include "bulwark.namespaceSelector" (dict "root" $root "mark" .mark) | nindent 2 }}
{{- end -}}

{{/*
Bulwark's admins, from policyAdmins: they alone write policies (Bulwark checks that) and,
with selfProtection, change Bulwark's installation (the ValidatingAdmissionPolicy checks
that). Users as a JSON list, service accounts by their usernames.
*/}}
{{- define "bulwark.policyAdminUsers" -}}
{{- $users := .Values.policyAdmins.users -}}
{{- range .Values.policyAdmins.serviceAccounts -}}
{{- $users = append $users (printf "system:serviceaccount:%s:%s" .namespace .name) -}}
{{- end -}}
{{- $users | toJson -}}
{{- end -}}

{{/* The admins as Bulwark names them in denials: "group system:masters, user jane". */}}
{{- define "bulwark.policyAdminsText" -}}
{{- $parts := list -}}
{{- range .Values.policyAdmins.groups }}{{ $parts = append $parts (printf "group %s" .) }}{{ end -}}
{{- range (include "bulwark.policyAdminUsers" . | fromJsonArray) }}{{ $parts = append $parts (printf "user %s" .) }}{{ end -}}
{{- if $parts }}{{ join ", " $parts }}{{ else }}nobody is configured{{ end -}}
{{- end -}}

{{/*
Where the kubelet probes Bulwark: the HTTPS port, or with mutual TLS (tls.clientCa), which
refuses clients without a certificate, the plain-HTTP metrics port (it serves /healthz and
/readyz as well).
*/}}
{{- define "bulwark.probePort" -}}
{{- if .Values.tls.clientCa -}}
port: metrics
scheme: HTTP
{{- else -}}
port: https
scheme: HTTPS
{{- end -}}
{{- end }}
