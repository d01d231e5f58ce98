# Bulwark's image: Node 24 running the TypeScript sources directly (type stripping, no
# build step), production dependencies only, as UID 65532, with nothing else to run.
#
#   docker build -t REGISTRY/bulwark:0.1.0 .
#
# The base is the official Node image, pinned by digest (the multi-arch index) so that
# a build is reproducible; bump tag and digest together. Where no registry is reachable
# (this project's CI), the same Dockerfile builds on a local base of equivalent content,
# Debian plus the Node binary of the npm package `node` (test/e2e/tools/node-base.sh):
#   docker build --build-arg NODE_IMAGE=bulwark.local/node-base:<tag> .
# No `# syntax=` line: BuildKit would fetch that frontend image from a registry.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:0e0ff40c39bc087845bfb27465a0df4ea419520094bc35842ff83dd8cbe6f9b6

# Dependencies, installed from the lockfile without devDependencies (which include the
# `node` npm package the repository uses for development) and without install scripts
# (no production dependency has one).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
# Node's compile cache, filled here with every module `serve` loads, type-stripped and
# compiled: the webhook then never loads Node's TypeScript stripper (a WebAssembly module
# that stays in memory) nor strips and compiles each file at start. Measured: about 25 MB
# less idle RSS and half the start-up time (issue 19). Node keys the cache by user and V8
# flags: it is filled as UID 65532 with the ENTRYPOINT's flags, and made read-only (root's).
# Under another UID or with other V8 flags (NODE_OPTIONS), Node finds no entry and
# strips the sources itself, as without the cache.
COPY bin ./bin
COPY src ./src
COPY scripts/warm-compile-cache.ts ./scripts/
RUN mkdir .node-compile-cache && chown 65532:65532 .node-compile-cache
USER 65532:65532
RUN NODE_COMPILE_CACHE=/app/.node-compile-cache node --max-semi-space-size=8 --expose-gc scripts/warm-compile-cache.ts
USER root
RUN chown -R root:root .node-compile-cache && chmod -R a+rX,a-w .node-compile-cache

FROM ${NODE_IMAGE}
# npm and corepack are not needed at runtime; fewer programs, fewer CVEs to ship.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
ENV NODE_ENV=production NODE_COMPILE_CACHE=/app/.node-compile-cache
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/.node-compile-cache ./.node-compile-cache
COPY package.json ./
COPY bin ./bin
COPY src ./src
# Read at runtime: the CRD schemas are the source of truth for policy validation.
COPY charts/bulwark/files/crds ./charts/bulwark/files/crds
# The files stay root-owned and read-only to the process.
USER 65532:65532
EXPOSE 8443
# Semi-spaces of at most 8 MB: under saturation V8 grows them to 64 MB each (RSS once went from
# 172 to 330 MB). Measured with wrk: 20 s of saturation added 18-21 MB of RSS instead of 28-41,
# at no lower throughput (issue 19). 8 rather than 16: 8 s of wrk left 123-131 MiB instead of
# 144-154 (idle 86), at the same throughput within the noise of a shared machine.
# No --max-old-space-size: Node derives the heap limit from
# the container's memory limit (259 MB of heap under the chart's 512Mi), and follows it when the
# limit changes. No --jitless or --lite-mode: less code memory, several times the latency.
# --expose-gc: once first ready, serve runs one memory-reducing collection that returns what
# start-up left pooled (about 20 MB; src/server/release-memory.ts), and the leader another after
# each drift audit scan.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--expose-gc", "bin/bulwark.js"]
CMD ["serve"]
