# agent-gateway's own image (issue 12). Multi-stage: build with dev dependencies, run with production ones only.
#   docker build -t localhost/agent-gateway:dev .
#   podman build --format docker -t localhost/agent-gateway:dev .   (the OCI format drops HEALTHCHECK)
# The runtime stage runs as the unprivileged `node` user (uid 1000) and has a HEALTHCHECK on GET /health.
FROM docker.io/library/node:20-bookworm-slim AS build
# better-sqlite3 (and node-pty of a dev dependency) compile from source when no prebuilt binary can be fetched
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# `npm ci` runs the `prepare` script (npm run build: tsc + the web console), so the sources come first
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY web ./web
COPY src ./src
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM docker.io/library/node:20-bookworm-slim AS runtime
# MALLOC_ARENA_MAX=1: glibc's malloc keeps one arena instead of one per thread (V8's helper threads each kept
# a few MB of their own): about 5-6 MB less idle RSS (docs/benchmarks.md, "Target 7, third round"); npm start sets it too
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    WORKSPACE_DIR=/data/workspaces
# the docker CLI for Docker mode and `isolation: "container"` (the engine runs on the host; its socket is mounted)
RUN apt-get update \
 && apt-get install -y --no-install-recommends docker.io ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data/workspaces && chown -R node:node /data
WORKDIR /app
# production dependencies only (the pinned @openai/codex comes with them), built in the first stage
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js", "serve"]
