#!/usr/bin/env bash
# Builds the pinned tools that the end-to-end tests need (kube-apiserver,
# kubectl, etcd, helm, cosign, crane, oci-registry) from the Go module proxy,
# once, and caches them outside the repository:
#
#   ${BULWARK_TOOLS_CACHE:-$HOME/.cache/bulwark/tools}/<tool>-<version>/bin/<tool>
#
# A tool whose cached binary exists and reports the pinned version is skipped.
# Versions are pinned in versions.env; kube-apiserver/kubectl and etcd are built
# through the wrapper modules in kube/ and etcd/ (with committed go.sum);
# oci-registry is our own small program in oci-registry/ (go-containerregistry's
# registry with the OCI referrers API on; its cache key adds a hash of its
# sources).
# Debian's docker-registry package is installed with apt only when --apt is
# given.
#
# Usage: build.sh [--only a,b] [--link-dir DIR] [--apt] [--rebuild]
#        build.sh --print [--only a,b]
#
#   --print          print "name=path" for each tool, one per line, build nothing
#   --only LIST      comma-separated subset of: kube-apiserver, kubectl, etcd,
#                    helm, cosign, crane, oci-registry, docker-registry
#   --link-dir DIR   after building, symlink every binary into DIR
#   --apt            apt-get install docker-registry if it is missing
#   --rebuild        rebuild even when a cached binary is present
#
# Needs Go >= GO_MIN_VERSION (versions.env) on PATH; builds with
# GOTOOLCHAIN=local CGO_ENABLED=0. Module and build caches stay at the go
# command's defaults (go env GOMODCACHE / GOCACHE).
set -euo pipefail

TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env disable=SC1091
source "$TOOLS_DIR/versions.env"

CACHE_DIR="${BULWARK_TOOLS_CACHE:-${HOME:?HOME is not set}/.cache/bulwark/tools}"
ALL_TOOLS=(kube-apiserver kubectl etcd helm cosign crane oci-registry docker-registry)

log() { printf '[tools] %s\n' "$*" >&2; }
die() { printf '[tools] error: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

# ---------------------------------------------------------------- arguments
mode=build
only=""
link_dir=""
use_apt=0
rebuild=0
while (($#)); do
  case "$1" in
    --print) mode=print ;;
    --only) [[ $# -ge 2 ]] || die "--only needs a value"; only="$2"; shift ;;
    --only=*) only="${1#--only=}" ;;
    --link-dir) [[ $# -ge 2 ]] || die "--link-dir needs a value"; link_dir="$2"; shift ;;
    --link-dir=*) link_dir="${1#--link-dir=}" ;;
    --apt) use_apt=1 ;;
    --rebuild) rebuild=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

selected=()
if [[ -n "$only" ]]; then
  IFS=',' read -r -a wanted <<<"$only"
  for w in "${wanted[@]}"; do
    [[ -n "$w" ]] || continue
    found=0
    for t in "${ALL_TOOLS[@]}"; do [[ "$t" == "$w" ]] && found=1; done
    ((found)) || die "unknown tool in --only: $w (known: ${ALL_TOOLS[*]})"
    selected+=("$w")
  done
  ((${#selected[@]})) || die "--only selected no tool"
else
  selected=("${ALL_TOOLS[@]}")
fi

# ---------------------------------------------------------------- tool table
tool_version() {
  case "$1" in
    kube-apiserver|kubectl) echo "$KUBE_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    cosign) echo "$COSIGN_VERSION" ;;
    crane) echo "$CRANE_VERSION" ;;
    oci-registry) echo "$CRANE_VERSION-$(cd "$TOOLS_DIR/oci-registry" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-8)" ;;
    docker-registry) echo "debian" ;;
  esac
}

tool_bin_dir() { echo "$CACHE_DIR/$1-$(tool_version "$1")/bin"; }

tool_path() {
  if [[ "$1" == docker-registry ]]; then
    command -v docker-registry 2>/dev/null || echo /usr/bin/docker-registry
  else
    echo "$(tool_bin_dir "$1")/$1"
  fi
}

# Runs the binary and checks that it reports the pinned version.
version_ok() {
  local name="$1" bin="$2" out want
  [[ -x "$bin" ]] || return 1
  case "$name" in
    kube-apiserver) want="Kubernetes $KUBE_VERSION"; out=$(timeout 30 "$bin" --version 2>&1) || return 1 ;;
    kubectl) want="Client Version: $KUBE_VERSION"; out=$(timeout 30 "$bin" version --client 2>&1) || return 1 ;;
    etcd) want="etcd Version: ${ETCD_VERSION#v}"; out=$(timeout 30 "$bin" --version 2>&1) || return 1 ;;
    helm) want="$HELM_VERSION"; out=$(timeout 30 "$bin" version --short 2>&1) || return 1 ;;
    cosign) want="$COSIGN_VERSION"; out=$(timeout 30 "$bin" version 2>&1) || return 1 ;;
    crane) want="$CRANE_VERSION"; out=$(timeout 30 "$bin" version 2>&1) || return 1 ;;
    oci-registry) want="go-containerregistry $CRANE_VERSION"; out=$(timeout 30 "$bin" --version 2>&1) || return 1 ;;
    *) return 1 ;;
  esac
  [[ "$out" == *"$want"* ]]
}

if [[ "$mode" == print ]]; then
  for t in "${selected[@]}"; do printf '%s=%s\n' "$t" "$(tool_path "$t")"; done
  exit 0
fi

# ---------------------------------------------------------------- checks
# The wrapper modules must agree with versions.env.
grep -qE "^[[:space:]]*(require[[:space:]]+)?k8s\.io/kubernetes $KUBE_VERSION( //.*)?\$" "$TOOLS_DIR/kube/go.mod" \
  || die "kube/go.mod does not require k8s.io/kubernetes $KUBE_VERSION (versions.env)"
if grep -E '^[[:space:]]*k8s\.io/[a-z-]+ => k8s\.io/[a-z-]+ ' "$TOOLS_DIR/kube/go.mod" | grep -vqE " => k8s\.io/[a-z-]+ $KUBE_STAGING_VERSION\$"; then
  die "kube/go.mod replaces a staging module with a version other than $KUBE_STAGING_VERSION (versions.env)"
fi
grep -qE "^[[:space:]]*(require[[:space:]]+)?go\.etcd\.io/etcd/server/v3 $ETCD_VERSION( //.*)?\$" "$TOOLS_DIR/etcd/go.mod" \
  || die "etcd/go.mod does not require go.etcd.io/etcd/server/v3 $ETCD_VERSION (versions.env)"
grep -qE "^[[:space:]]*(require[[:space:]]+)?github\.com/google/go-containerregistry $CRANE_VERSION( //.*)?\$" "$TOOLS_DIR/oci-registry/go.mod" \
  || die "oci-registry/go.mod does not require github.com/google/go-containerregistry $CRANE_VERSION (versions.env)"

go_checked=0
check_go() {
  ((go_checked)) && return 0
  command -v go >/dev/null 2>&1 \
    || die "'go' was not found on PATH; Go >= $GO_MIN_VERSION is needed to build the e2e tools"
  local gv v
  gv=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null) || die "'go env GOVERSION' failed; is Go >= $GO_MIN_VERSION installed?"
  v="${gv#go}"
  v="${v%%[!0-9.]*}"                      # go1.26rc1 -> 1.26, devel ... -> ""
  [[ "$v" == *.*.* ]] || v="$v.0"         # go1.26 -> 1.26.0
  if [[ ! "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
     || [[ "$(printf '%s\n%s\n' "$GO_MIN_VERSION" "$v" | sort -V | head -n1)" != "$GO_MIN_VERSION" ]]; then
    die "Go $GO_MIN_VERSION or newer is needed (GOTOOLCHAIN=local), found '$gv' at $(command -v go)"
  fi
  log "using $gv ($(command -v go)); GOMODCACHE=$(go env GOMODCACHE) GOCACHE=$(go env GOCACHE)"
  go_checked=1
}

export GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off

now_us() { echo "${EPOCHREALTIME/./}"; }
fmt_secs() { awk -v us="$1" 'BEGIN { printf "%.1fs", us / 1e6 }'; }

# Retries a command (module downloads through the proxy can fail transiently).
retry() {
  local n=1 max=3
  until "$@"; do
    ((n >= max)) && return 1
    log "attempt $n of '$*' failed; retrying in $((n * 5))s"
    sleep $((n * 5)); n=$((n + 1))
  done
}

mkdir -p "$CACHE_DIR"
TMP_DIR="$(mktemp -d "$CACHE_DIR/.tmp.XXXXXX")"
trap 'rm -rf "$TMP_DIR"' EXIT

# One build at a time per cache (parallel CI jobs, or a harness racing a dev).
exec 9>"$CACHE_DIR/.lock"
if command -v flock >/dev/null 2>&1 && ! flock -n 9; then
  log "waiting for another build.sh holding $CACHE_DIR/.lock"
  flock 9
fi

# Module publication time (UTC, ISO 8601) for reproducible build-date ldflags.
module_time() { # module[@version] [dir]
  (cd "${2:-$TMP_DIR}" && go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$1" 2>/dev/null) || true
}

# Downloads (with retries) the modules that a wrapper module's go.sum pins.
# shellcheck disable=SC2030,SC2031
mod_download() { (cd "$1" && export GOFLAGS=-mod=readonly && retry go mod download); }

kube_mods_ready=0
prepare_kube_modules() {
  ((kube_mods_ready)) && return 0
  log "downloading modules for kube/ (k8s.io/kubernetes $KUBE_VERSION)"
  mod_download "$TOOLS_DIR/kube"
  kube_mods_ready=1
}

kube_ldflags() {
  local major minor date p flags="-s -w -buildid="
  major="${KUBE_VERSION#v}"; major="${major%%.*}"
  minor="${KUBE_VERSION#v*.}"; minor="${minor%%.*}"
  date="$(module_time k8s.io/kubernetes "$TOOLS_DIR/kube")"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    flags+=" -X $p.gitTreeState=clean -X $p.gitCommit="
    [[ -n "$date" ]] && flags+=" -X $p.buildDate=$date"
  done
  echo "$flags"
}

# build_in_module DIR PACKAGE OUT LDFLAGS
build_in_module() {
  (cd "$1" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "$4" -o "$3" "$2")
}

# go_install PACKAGE@VERSION BINARY LDFLAGS  (moves the binary to $TMP_DIR/BINARY)
# shellcheck disable=SC2030,SC2031
go_install() {
  (export GOBIN="$TMP_DIR/gobin" GOFLAGS= && retry go install -trimpath -ldflags "$3" "$1")
  [[ -x "$TMP_DIR/gobin/$2" ]] || die "go install $1 produced no $2"
  mv -f "$TMP_DIR/gobin/$2" "$TMP_DIR/$2"
}

build_tool() { # NAME -> leaves the binary at $TMP_DIR/NAME
  local name="$1" flags date
  case "$name" in
    kube-apiserver|kubectl)
      prepare_kube_modules
      build_in_module "$TOOLS_DIR/kube" "k8s.io/kubernetes/cmd/$name" "$TMP_DIR/$name" "$(kube_ldflags)" ;;
    etcd)
      log "downloading modules for etcd/ (go.etcd.io/etcd/server/v3 $ETCD_VERSION)"
      mod_download "$TOOLS_DIR/etcd"
      build_in_module "$TOOLS_DIR/etcd" go.etcd.io/etcd/server/v3 "$TMP_DIR/etcd" "-s -w -buildid=" ;;
    helm)
      flags="-s -w -buildid= -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
      flags+=" -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
      go_install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" helm "$flags" ;;
    cosign)
      date="$(module_time "github.com/sigstore/cosign/v3@$COSIGN_VERSION")"
      flags="-s -w -buildid= -X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION"
      flags+=" -X sigs.k8s.io/release-utils/version.gitTreeState=clean"
      [[ -n "$date" ]] && flags+=" -X sigs.k8s.io/release-utils/version.buildDate=$date"
      go_install "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION" cosign "$flags" ;;
    crane)
      flags="-s -w -buildid= -X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$CRANE_VERSION"
      go_install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION" crane "$flags" ;;
    oci-registry)
      mod_download "$TOOLS_DIR/oci-registry"
      build_in_module "$TOOLS_DIR/oci-registry" . "$TMP_DIR/oci-registry" "-s -w -buildid=" ;;
  esac
}

apt_registry() {
  if command -v docker-registry >/dev/null 2>&1; then
    log "docker-registry: present at $(command -v docker-registry)"
    return 0
  fi
  if ((!use_apt)); then
    log "docker-registry: not installed (pass --apt to apt-get install it)"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 || die "docker-registry is missing and apt-get is not available"
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "installing docker-registry needs root (or sudo)"
    sudo=(sudo -n)
  fi
  local candidate
  candidate=$(apt-cache policy docker-registry 2>/dev/null | awk '/Candidate:/ { print $2 }')
  if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
    log "docker-registry: not in the apt lists; running apt-get update"
    "${sudo[@]}" apt-get update -q
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends docker-registry; then
    log "docker-registry: install failed; running apt-get update and trying again"
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends docker-registry
  fi
  command -v docker-registry >/dev/null 2>&1 || die "docker-registry is still missing after apt-get install"
}

# ---------------------------------------------------------------- main
summary=()
total_start=$(now_us)
for t in "${selected[@]}"; do
  start=$(now_us)
  if [[ "$t" == docker-registry ]]; then
    apt_registry
    summary+=("$(printf '%-16s %-17s %8s  %s' "$t" "apt" "$(fmt_secs $(($(now_us) - start)))" "$(tool_path "$t")")")
    continue
  fi
  ver="$(tool_version "$t")"
  dest="$(tool_path "$t")"
  if ((!rebuild)) && version_ok "$t" "$dest"; then
    log "$t $ver: cached at $dest"
    summary+=("$(printf '%-16s %-17s %8s  %s' "$t" "$ver" "cached" "$dest")")
    continue
  fi
  check_go
  log "$t $ver: building"
  build_tool "$t"
  mkdir -p "$(dirname "$dest")"
  mv -f "$TMP_DIR/$t" "$dest"
  version_ok "$t" "$dest" || die "$t built at $dest but does not run or does not report $ver"
  elapsed="$(fmt_secs $(($(now_us) - start)))"
  log "$t $ver: built in $elapsed ($(du -h "$dest" | cut -f1))"
  summary+=("$(printf '%-16s %-17s %8s  %s' "$t" "$ver" "$elapsed" "$dest")")
done

if [[ -n "$link_dir" ]]; then
  mkdir -p "$link_dir"
  for t in "${selected[@]}"; do
    p="$(tool_path "$t")"
    [[ -x "$p" ]] || continue
    ln -sfn "$p" "$link_dir/$t"
  done
  log "linked binaries into $link_dir"
fi

log "summary (total $(fmt_secs $(($(now_us) - total_start)))):"
for line in "${summary[@]}"; do printf '[tools]   %s\n' "$line" >&2; done

echo "bin dirs:"
for t in "${selected[@]}"; do
  if [[ "$t" == docker-registry ]]; then
    if command -v docker-registry >/dev/null 2>&1; then dirname "$(command -v docker-registry)"; fi
  else
    tool_bin_dir "$t"
  fi
done | awk '!seen[$0]++ { print "  " $0 }'
if [[ -n "$link_dir" ]]; then echo "link dir: $(cd "$link_dir" && pwd)"; fi
exit 0
