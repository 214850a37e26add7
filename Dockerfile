# syntax=docker/dockerfile:1
# Audit Gateway: the GraphQL gateway with the embedded local audit service (SQLite under /data),
# or in front of the cloud audit service when AUDIT_BASE_URL/AUDIT_DOMAIN and AUDIT_TOKEN are set.
# It runs the compiled JavaScript (dist/) with node; README.md "## Docker" has the commands.
#
#   docker build -t audit-gateway .
#   docker run -p 4000:4000 -v audit-data:/data -v audit-integrity:/integrity \
#     -v "$PWD/keys.json:/run/secrets/audit-gateway-keys.json:ro" audit-gateway

# Node 24, the active LTS line: Node 20 left support on 2026-04-30. CI runs the compiled build with
# this image's environment on Node 24 (.ci/node-24). `--build-arg NODE_VERSION=22` (or 20) works too.
ARG NODE_VERSION=24

# ---- npm: the version the lockfile and package.json's "allowScripts" were made with -------------
FROM node:${NODE_VERSION}-bookworm-slim AS npm
# npm 11 runs dependency install scripts (better-sqlite3, esbuild) only when "allowScripts" allows
# them; the npm 10 bundled with Node 20 and 22 does not know that list. An exact version keeps
# builds repeatable on every Node version.
ARG NPM_VERSION=11.19.1
RUN npm install -g "npm@${NPM_VERSION}" --no-audit --no-fund \
 && npm cache clean --force
WORKDIR /app
COPY package.json package-lock.json ./

# ---- deps: production dependencies, with the toolchain better-sqlite3 compiles with ------------
# Built against this image's glibc and Node ABI, the same as the runtime's. Everything is
# installed first so that the postinstall script (patch-package, a dev dependency) applies
# patches/ to the installed packages; then the dev dependencies are removed.
FROM npm AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY patches ./patches
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- build: tsc, src/ -> dist/ ------------------------------------------------------------------
# tsc needs no native module, so install scripts are skipped and this stage needs no compilers.
FROM npm AS build
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: node and the compiled gateway; no compilers, no dev dependencies, not root --------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# HOST=0.0.0.0: listen on every interface so the published port reaches the gateway. The gateway
# refuses a non-loopback address without caller authentication, so the image asks for callers by
# default: API keys / JWT settings in GATEWAY_KEYS_FILE (mount the file there, or point the
# variable elsewhere); without the file it stops with one line naming GATEWAY_KEYS_FILE.
ENV NODE_ENV=production \
    DATA_DIR=/data \
    INTEGRITY_KEY_FILE=/integrity/integrity-key \
    GATEWAY_AUTH=keys \
    GATEWAY_KEYS_FILE=/run/secrets/audit-gateway-keys.json \
    HOST=0.0.0.0 \
    PORT=4000
# tini is PID 1: it passes docker stop's SIGTERM to node (which drains in-flight requests, stops
# the embedded service and exits 0) and reaps orphaned processes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# package.json: "type": "module" makes node load dist/*.js as ES modules.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The image's "node" user (uid 1000) owns only the data directories, closed to others (the
# embedded service warns about a data directory that is not); the code stays read-only to it.
RUN mkdir -p /data /integrity && chown node:node /data /integrity && chmod 700 /data /integrity
USER node
# The embedded audit log (SQLite), its access token and the cursor secret live in /data; the key
# that signs the gateway's integrity state lives apart from it, so that whoever can rewrite the
# data cannot also re-sign what the gateway remembers verifying. Keep both across containers
# (-v audit-data:/data -v audit-integrity:/integrity): a new key refuses the old state.
VOLUME ["/data", "/integrity"]
EXPOSE 4000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
