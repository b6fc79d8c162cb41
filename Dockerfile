# agent-gateway's own image (issue 12). Multi-stage: build with dev dependencies, run with production ones only.
#   podman build -t localhost/agent-gateway:dev .      (or docker build)
# The runtime stage runs as the unprivileged `node` user (uid 1000) and has a HEALTHCHECK on GET /health.
FROM docker.io/library/node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM docker.io/library/node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    WORKSPACE_DIR=/data/workspaces
WORKDIR /app
COPY package.json package-lock.json ./
# production dependencies only (the pinned @openai/codex comes with them); the docker CLI for Docker mode
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && apt-get update && apt-get install -y --no-install-recommends docker.io ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data/workspaces && chown -R node:node /data
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js", "serve"]
