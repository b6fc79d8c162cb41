#!/usr/bin/env bash
# Release check (by hand, a few minutes): a clean clone installed as production installs it
# (`npm ci --omit=dev`) starts with `npm start` and serves /health, the console and the docs.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
port="${PORT:-18765}"
cleanup() {
  [[ -n "${server:-}" ]] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
git clone -q "$repo" "$work/app"
cd "$work/app"
npm ci --omit=dev --no-audit --no-fund >"$work/install.log" 2>&1 || { tail -30 "$work/install.log"; exit 1; }
[[ ! -e node_modules/vitest ]] || { echo "dev dependencies were installed"; exit 1; }
# a workspace of its own: the gateway refuses a root that holds its own files
mkdir -p "$work/workspace"
PORT="$port" DATA_DIR="$work/data" WORKSPACE_DIR="$work/workspace" LOG_LEVEL=warn node dist/main.js serve &
server=$!
for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.5; done
for route in /health / /docs/ /redoc /openapi.json; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$route")
  echo "$route $code"
  [[ "$code" == 200 ]] || exit 1
done
echo "production install: OK"
