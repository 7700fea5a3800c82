#!/usr/bin/env bash
# Checks shopd's deploy artifacts offline: the Dockerfile, the Helm chart
# (lint, render, strict validation against the Kubernetes API types, values
# that must be refused) and the Argo CD example.
#
#   bash deploy/check.sh
#
# Needs Go. Installs Helm $HELM_VERSION with `go install` when it is missing
# (a few minutes of compiling, once). Every check runs even after a failure;
# the script prints what failed and exits 1 if anything did.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"
# manifestcheck is its own module; a go.work at the root must not capture it.
export GOWORK=off

HELM_VERSION=v3.22.0
KUBE_VERSION=1.34.0
CHART=deploy/helm/shopd
HA_VALUES=$CHART/ci/ha-values.yaml
started=$SECONDS

step() { printf '\n== %s\n' "$*"; }

# helm_version prints the version of the helm binary $1: from its Go build
# info when it was built with `go install`, else from `helm version`.
helm_version() {
	local v
	v=$(go version -m "$1" 2>/dev/null | awk '$1 == "mod" && $2 == "helm.sh/helm/v3" { print $3 }')
	if [ -z "$v" ]; then
		v=$("$1" version --template '{{.Version}}' 2>/dev/null || true)
	fi
	echo "$v"
}

step "helm $HELM_VERSION"
HELM=$(command -v helm || true)
if [ -z "$HELM" ] || [ "$(helm_version "$HELM")" != "$HELM_VERSION" ]; then
	HELM="$(go env GOPATH)/bin/helm"
	if [ ! -x "$HELM" ] || [ "$(helm_version "$HELM")" != "$HELM_VERSION" ]; then
		echo "installing helm $HELM_VERSION with go install (compiles for a few minutes)…"
		GOFLAGS= go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
	fi
fi
echo "$HELM ($(helm_version "$HELM"))"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=()
# check NAME CMD…: runs CMD, records the result, shows its output on failure.
check() {
	local name=$1
	shift
	if "$@" >"$work/out" 2>&1; then
		passed=$((passed + 1))
		echo "ok    $name"
		sed 's/^/      /' "$work/out" | grep -v '^ *$' | tail -n 3 || true
	else
		failed+=("$name")
		echo "FAIL  $name"
		sed 's/^/      /' "$work/out"
	fi
}

# refuse NAME MESSAGE HELM-ARGS…: helm template must fail with MESSAGE in its output.
refuse() {
	local name=$1 want=$2
	shift 2
	if "$HELM" template shopd "$CHART" --kube-version "$KUBE_VERSION" "$@" >"$work/out" 2>&1; then
		failed+=("$name")
		echo "FAIL  $name: rendered although it must be refused"
	elif ! grep -qF -- "$want" "$work/out"; then
		failed+=("$name")
		echo "FAIL  $name: refused, but without \"$want\":"
		sed 's/^/      /' "$work/out"
	else
		passed=$((passed + 1))
		echo "ok    $name (refused: $(grep -F -- "$want" "$work/out" | head -n 1 | cut -c1-160))"
	fi
}

render() { # render OUT HELM-ARGS…
	local out=$1
	shift
	"$HELM" template shopd "$CHART" --namespace shop --kube-version "$KUBE_VERSION" "$@" >"$out"
}

step "manifestcheck (deploy/manifestcheck: strict decoding into k8s.io/api types)"
check "manifestcheck vet" bash -c "cd deploy/manifestcheck && go vet ./..."
check "manifestcheck tests" bash -c "cd deploy/manifestcheck && go test -count=1 ./..."
check "manifestcheck build" bash -c "cd deploy/manifestcheck && go build -o '$work/manifestcheck' ."
MC=$work/manifestcheck
if [ ! -x "$MC" ]; then
	echo "manifestcheck did not build; cannot validate manifests"
	exit 1
fi

step "Dockerfile"
check "Dockerfile lint" "$MC" -dockerfile deploy/Dockerfile

step "helm lint --strict"
check "lint: default values (SQLite)" "$HELM" lint --strict --kube-version "$KUBE_VERSION" "$CHART"
check "lint: HA values (PostgreSQL)" "$HELM" lint --strict --kube-version "$KUBE_VERSION" "$CHART" -f "$HA_VALUES"

step "helm template + validation"
check "render: default values" render "$work/default.yaml"
check "validate: default values" "$MC" \
	-expect Deployment=1,Service=1,ServiceAccount=1,PersistentVolumeClaim=1,Job=0,HorizontalPodAutoscaler=0,PodDisruptionBudget=0,NetworkPolicy=0,ServiceMonitor=0,PrometheusRule=0 \
	"$work/default.yaml"
check "render: HA values" render "$work/ha.yaml" -f "$HA_VALUES"
check "validate: HA values" "$MC" \
	-expect Deployment=3,Service=3,ServiceAccount=1,PersistentVolumeClaim=0,Job=1,HorizontalPodAutoscaler=1,PodDisruptionBudget=3,NetworkPolicy=3,ServiceMonitor=1,PrometheusRule=1 \
	"$work/ha.yaml"
check "render: PostgreSQL, fixed replicas, no worker" render "$work/pg.yaml" \
	--set database.existingSecret=shopd-db --set api.replicas=3 --set worker.enabled=false \
	--set podDisruptionBudget.enabled=true --set networkPolicy.enabled=true
check "validate: PostgreSQL, fixed replicas, no worker" "$MC" \
	-expect Deployment=1,Job=1,PersistentVolumeClaim=0,PodDisruptionBudget=1,NetworkPolicy=1 "$work/pg.yaml"
check "render: SQLite without persistence, digest" render "$work/ephemeral.yaml" \
	--set sqlite.persistence.enabled=false \
	--set image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
check "validate: SQLite without persistence, digest" "$MC" -expect Deployment=1,PersistentVolumeClaim=0 "$work/ephemeral.yaml"
check "grace period = preStop + drain delay + timeout + margin" \
	grep -q 'terminationGracePeriodSeconds: 35$' "$work/default.yaml"
check "api role in HA, all in SQLite" bash -c "grep -A1 'name: SHOPD_ROLE' '$work/ha.yaml' | grep -q '\"api\"' && grep -A1 'name: SHOPD_ROLE' '$work/default.yaml' | grep -q '\"all\"'"
check "storefront role in HA, on a Service of its own" bash -c "grep -A1 'name: SHOPD_ROLE' '$work/ha.yaml' | grep -q '\"storefront\"' && grep -q 'name: shopd-storefront$' '$work/ha.yaml'"
check "GOMEMLIMIT is 90% of the memory limit" grep -q 'value: "460MiB"' "$work/default.yaml"
check "render: fractional memory limit" render "$work/frac.yaml" --set api.resources.limits.memory=1.5Gi
check "GOMEMLIMIT from a fractional limit (1.5Gi → 1382MiB)" grep -q 'value: "1382MiB"' "$work/frac.yaml"

# alert_runbooks FILE: every alert rendered in FILE links to its own section
# of docs/operations.md ("### AlertName", anchor = the name in lower case).
alert_runbooks() {
	local alerts n=0 a
	alerts=$(sed -n 's/^ *- alert: *\([A-Za-z0-9]*\)$/\1/p' "$1")
	[ -n "$alerts" ] || { echo "no alerts in $1"; return 1; }
	for a in $alerts; do
		n=$((n + 1))
		grep -qx "### $a" docs/operations.md || { echo "docs/operations.md has no section \"### $a\""; return 1; }
		grep -q "runbook_url: .*/docs/operations.md#$(echo "$a" | tr 'A-Z' 'a-z')\$" "$1" || { echo "$a: runbook_url does not point at #$(echo "$a" | tr 'A-Z' 'a-z')"; return 1; }
	done
	[ "$(grep -c 'runbook_url:' "$1")" -eq "$n" ] || { echo "an alert has no runbook_url, or one has two"; return 1; }
	echo "$n alerts, each with its runbook section"
}
check "alerts: a runbook section for each (HA values)" alert_runbooks "$work/ha.yaml"
check "alerts: burn-rate thresholds from the objective" bash -c "grep -q '> (14.4 \* (1 - 99.95 / 100))' '$work/ha.yaml' && grep -q '> (6 \* (1 - 99.95 / 100))' '$work/ha.yaml'"
check "render: ServiceMonitor without rules" render "$work/norules.yaml" -f "$HA_VALUES" --set metrics.prometheusRule.enabled=false
check "validate: ServiceMonitor without rules" "$MC" -expect ServiceMonitor=1,PrometheusRule=0 "$work/norules.yaml"

# helm template does not print NOTES.txt: render it through a copy of the
# chart with a template that includes it, and look for WANT.
notes_say() { # notes_say WANT HELM-ARGS…
	local want=$1
	shift
	rm -rf "$work/notes-chart" && cp -r "$CHART" "$work/notes-chart"
	printf 'notes: |\n  {{- include "shopd/templates/NOTES.txt" . | nindent 2 }}\n' >"$work/notes-chart/templates/zz-notes.yaml"
	"$HELM" template shopd "$work/notes-chart" --namespace shop --kube-version "$KUBE_VERSION" \
		--show-only templates/zz-notes.yaml "$@" >"$work/notes.txt"
	grep -qF -- "$want" "$work/notes.txt" || { echo "NOTES.txt lacks \"$want\":"; cat "$work/notes.txt"; return 1; }
}
check "NOTES.txt: default values" notes_say "Store: embedded SQLite"
check "NOTES.txt: HA values" notes_say "API pods (--role api): 3–20 (HPA)" -f "$HA_VALUES"
check "NOTES.txt: storefront pods (HA values)" notes_say "Storefront pods (--role storefront): 2, Service shopd-storefront" -f "$HA_VALUES"

step "values the chart must refuse"
refuse "two replicas on SQLite" "api.replicas > 1 needs PostgreSQL" --set api.replicas=2
refuse "HPA on SQLite" "api.autoscaling.enabled needs PostgreSQL" --set api.autoscaling.enabled=true
refuse "storefront pods on SQLite" "storefront.enabled needs PostgreSQL" --set storefront.enabled=true
refuse "latest image" 'image.tag "latest" is not reproducible' --set image.tag=latest
refuse "unknown key" "additional properties 'replicaCount' not allowed" --set replicaCount=3
refuse "misspelt nested key" "additional properties 'replica' not allowed" --set api.replica=3
refuse "bad enum" "/config/logLevel" --set config.logLevel=verbose
refuse "bad memory quantity" "/api/resources/limits/memory" --set api.resources.limits.memory=512MB
refuse "missing memory limit" "missing property 'memory'" --set api.resources.limits.memory=null
refuse "HPA min > max" "minReplicas must not exceed maxReplicas" -f "$HA_VALUES" --set api.autoscaling.minReplicas=30
refuse "PDB with both bounds" "exactly one of maxUnavailable and minAvailable" --set podDisruptionBudget.enabled=true --set podDisruptionBudget.minAvailable=1
refuse "GOMEMLIMIT percent 0" "/config/goMemLimitPercent" --set config.goMemLimitPercent=0
refuse "no drain margin" "/drain/marginSeconds" --set drain.marginSeconds=0
refuse "memory limit as a number" "/api/resources/limits/memory" --set api.resources.limits.memory=536870912
refuse "bad secret name" "/database/existingSecret" --set database.existingSecret=Not_A_Name
refuse "availability objective of 100%" "/metrics/prometheusRule/availabilityObjective" --set metrics.prometheusRule.availabilityObjective=100
refuse "alert label overriding severity" "invalid propertyName 'severity'" --set metrics.prometheusRule.alertLabels.severity=info

step "Argo CD Application"
check "application.yaml" "$MC" -expect Application=1 deploy/argocd/application.yaml

echo
echo "deploy/check.sh took $((SECONDS - started))s"
if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED:"
	printf '  %s\n' "${failed[@]}"
	echo "deploy checks: $passed passed, ${#failed[@]} failed"
	exit 1
fi
echo "deploy checks: $passed passed, 0 failed"
