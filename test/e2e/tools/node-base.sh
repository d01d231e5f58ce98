#!/usr/bin/env bash
# Makes the local stand-in for the Dockerfile's public base image (node:<v>-<suite>-slim),
# which cannot be pulled here: no image registry is reachable. Same content, built from
# what is reachable: a minimal Debian root filesystem (debootstrap --variant=minbase,
# trimmed the way Debian's slim images are), the Node binary that the npm package `node`
# ships, and npm from the npm registry, laid out as in the official image
# (/usr/local/bin/node, /usr/local/lib/node_modules/npm). Writes one tarball for
# `docker import`. Needs root (debootstrap) and network access to Debian's mirror.
#
# One addition that the public image lacks: where this machine trusts extra CAs for
# Node (NODE_EXTRA_CA_CERTS, as on machines that reach the npm registry through a
# TLS-inspecting proxy), that bundle goes in too, or `npm ci` in the Dockerfile fails
# with SELF_SIGNED_CERT_IN_CHAIN. OUTPUT_TAR.env then holds the ENV line that
# `docker import --change` needs.
#
# Usage: node-base.sh NODE_BINARY DEBIAN_SUITE NPM_VERSION OUTPUT_TAR
set -euo pipefail

log() { printf '[tools] node-base: %s\n' "$*" >&2; }
die() { printf '[tools] error: node-base: %s\n' "$*" >&2; exit 1; }

(($# == 4)) || die "usage: node-base.sh NODE_BINARY DEBIAN_SUITE NPM_VERSION OUTPUT_TAR"
node_bin="$1" suite="$2" npm_version="$3" output="$4"
mirror="${BULWARK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

[[ -x "$node_bin" ]] || die "no Node binary at $node_bin (run npm ci first: it comes from the npm package 'node')"
[[ "$(id -u)" == 0 ]] || die "debootstrap needs root"
PATH="$PATH:/usr/sbin:/sbin" command -v debootstrap >/dev/null 2>&1 \
  || die "debootstrap is missing (build.sh --apt installs the Debian package)"
command -v npm >/dev/null 2>&1 || die "npm is needed to fetch npm@$npm_version"

work="$(mktemp -d "${TMPDIR:-/tmp}/bulwark-node-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

log "debootstrap --variant=minbase $suite from $mirror"
PATH="$PATH:/usr/sbin:/sbin" debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || die "debootstrap failed; its log ends with: $(tail -n 5 "$work/debootstrap.log")"

# What Debian's slim images leave out: package caches and lists, documentation, locales.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
       "$root"/tmp/* "$root"/dev/*

log "adding Node $("$node_bin" --version) and npm $npm_version"
install -D -m 0755 "$node_bin" "$root/usr/local/bin/node"
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null) || die "npm pack npm@$npm_version failed"
mkdir -p "$root/usr/local/lib/node_modules/npm"
tar -xzf "$work"/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" /usr/local/bin/node /usr/local/bin/npm --version >/dev/null \
  || die "npm does not run inside the new root filesystem"

env_lines=('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -s "$NODE_EXTRA_CA_CERTS" ]]; then
  log "adding this machine's extra CA bundle ($NODE_EXTRA_CA_CERTS)"
  install -D -m 0644 "$NODE_EXTRA_CA_CERTS" "$root/usr/local/share/bulwark/extra-ca.pem"
  env_lines+=('NODE_EXTRA_CA_CERTS=/usr/local/share/bulwark/extra-ca.pem')
fi

tar --numeric-owner -C "$root" -cf "$output" .
printf '%s\n' "${env_lines[@]}" >"$output.env"
log "wrote $output ($(du -h "$output" | cut -f1))"
