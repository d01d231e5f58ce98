#!/usr/bin/env bash
# Bulwark on kind, the way a developer with Docker tries it: a kind cluster, the image
# built from this repository's Dockerfile, `kind load docker-image`, `helm install`, and
# the demo's denial of a change to a locked ConfigMap.
#
#   bash scripts/kind.sh          # up: create (or reuse) the cluster, build, load, install, demo
#   bash scripts/kind.sh down     # delete the kind cluster
#
# Needs docker, kind (v0.33.0 pins kindest/node v1.37.0; any release works), kubectl and
# helm on PATH, and the internet (kind pulls kindest/node; the build pulls node:24-slim).
# Untested where this project's CI runs: no image registry is reachable there, so no kind
# node image can be made. The same steps (docker build of this Dockerfile, loading the
# image into the node's containerd as `kind load` does, helm install, the denial) run on
# the test harness's own node in every `npm test` (test/e2e-full).
#
# KIND_CLUSTER (default bulwark) names the cluster, IMAGE (default bulwark.local/bulwark:dev)
# the image, DOCKER_BUILD_ARGS adds `docker build` arguments (e.g. --build-arg
# NODE_IMAGE=<a mirror of the base image>). Anything passed after `up` goes to `helm install`
# (e.g. --set logLevel=debug).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cluster="${KIND_CLUSTER:-bulwark}"
image="${IMAGE:-bulwark.local/bulwark:dev}"
context="kind-$cluster"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "kind.sh: '$1' is not on PATH ($2)" >&2; exit 1; }; }

if [[ "${1:-up}" == down ]]; then
  need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
  kind delete cluster --name "$cluster"
  exit 0
fi
[[ "${1:-up}" == up ]] && shift $(( $# > 0 ? 1 : 0 ))
need docker "install Docker"
need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
need kubectl "https://kubernetes.io/docs/tasks/tools/"
need helm "https://helm.sh/docs/intro/install/"

if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  say "kind cluster $cluster exists; reusing it"
else
  say "kind create cluster --name $cluster"
  kind create cluster --name "$cluster" --wait 180s
fi

say "docker build -t $image ."
# shellcheck disable=SC2086 # DOCKER_BUILD_ARGS is a list of words on purpose
docker build ${DOCKER_BUILD_ARGS:-} -t "$image" .

say "kind load docker-image $image --name $cluster"
kind load docker-image "$image" --name "$cluster"

say "helm install bulwark charts/bulwark (2 replicas, the chart's webhooks)"
helm upgrade --install bulwark charts/bulwark --kube-context "$context" \
  --namespace bulwark-system --create-namespace \
  --set image.repository="${image%:*}" --set image.tag="${image##*:}" --set image.pullPolicy=IfNotPresent \
  --wait --timeout 5m "$@"
kubectl --context "$context" -n bulwark-system get pods -o wide

locked() {
  cat <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: demo
  labels: { bulwark.dev/immutable: "true" }
data: { greeting: $1, retries: "3" }
YAML
}

say "a locked ConfigMap: created once, then a change to it"
kubectl --context "$context" create namespace demo --dry-run=client -o yaml | kubectl --context "$context" apply -f -
locked hello | kubectl --context "$context" apply -f -
# The apiserver reads webhook configurations asynchronously: wait until a server-side
# dry run of the change is denied, then show the real thing.
for attempt in $(seq 1 30); do
  if ! locked goodbye | kubectl --context "$context" apply --dry-run=server -f - >/dev/null 2>&1; then break; fi
  sleep 1
done
if out=$(locked goodbye | kubectl --context "$context" apply -f - 2>&1); then
  echo "$out"
  echo "kind.sh: the change to a locked ConfigMap was allowed: Bulwark is not in force" >&2
  exit 1
fi
echo "$out"
[[ "$out" == *'denied the request'* ]] || { echo "kind.sh: kubectl failed, but not with Bulwark's denial" >&2; exit 1; }
say "denied, as it should be (after $attempt attempt(s)). Clean up: bash scripts/kind.sh down"
