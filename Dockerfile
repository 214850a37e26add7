# syntax=docker/dockerfile:1
# Audit Gateway: the GraphQL gateway with the embedded local audit service (SQLite under /data),
# or in front of the cloud audit service when AUDIT_BASE_URL/AUDIT_DOMAIN and AUDIT_TOKEN are set.
#
#   docker build -t audit-gateway .
#   docker run -p 4000:4000 -v audit-data:/data -e GATEWAY_AUTH=keys -e GATEWAY_KEYS_FILE=… audit-gateway
#
# Stopping (docker stop = SIGTERM): npm runs scripts with `sh -c`, and dash neither forwards the
# signal nor execs the command, so the gateway would be left running until SIGKILL. With bash as
# npm's script shell, `bash -c "tsx src/main.ts"` execs tsx: the chain is tini -> npm -> tsx ->
# node, each passing SIGTERM on, and the gateway finishes in-flight requests and exits 0 (npm
# waits for it). tini is PID 1 so that signals and orphaned processes are handled.

ARG NODE_VERSION=20

# ---- build: production dependencies, with the toolchain better-sqlite3 compiles with ----------
FROM node:${NODE_VERSION}-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# The lockfile and package.json's "allowScripts" were made with npm 11, which runs dependency
# install scripts (better-sqlite3, esbuild) only when allowed there; use the same major.
RUN npm install -g npm@11 --no-audit --no-fund
WORKDIR /app
COPY package.json package-lock.json ./
# Only what `npm start` needs (tsx is a production dependency: it runs src/main.ts directly).
# better-sqlite3 is built here against this image's glibc and Node ABI, the same as the runtime's.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime: no compilers, no dev dependencies, not root -------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# HOST=0.0.0.0: listen on every interface so the published port reaches the gateway. The gateway
# refuses to start on a non-loopback address without caller authentication, so run it with
# GATEWAY_AUTH=keys and GATEWAY_KEYS_FILE (API keys / JWT settings, e.g. a mounted secret), or
# GATEWAY_AUTH=passthrough in front of the cloud service:
#   docker run -p 4000:4000 -v audit-data:/data -v audit-integrity:/integrity \
#     -v $PWD/keys.json:/run/secrets/keys.json:ro \
#     -e GATEWAY_AUTH=keys -e GATEWAY_KEYS_FILE=/run/secrets/keys.json audit-gateway
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_SCRIPT_SHELL=/bin/bash \
    DATA_DIR=/data \
    INTEGRITY_KEY_FILE=/integrity/integrity-key \
    HOST=0.0.0.0 \
    PORT=4000
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
# The image's "node" user (uid 1000) owns only the data directory; the code stays read-only to it.
RUN mkdir -p /data /integrity && chown node:node /data /integrity
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
CMD ["npm", "start"]
