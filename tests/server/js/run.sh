#!/usr/bin/env bash
# Runs one of the server's JavaScript tests against `troupe serve` on an ephemeral loopback port:
#   run.sh openai  TROUPE WORKDIR   OpenAI's official client library (npm `openai`)
#   run.sh browser TROUPE WORKDIR   the studio page in headless Chromium (npm `puppeteer-core` + Debian's chromium)
# npm packages are installed into WORKDIR at test time. Exit 77 (ctest: skipped) when npm, the npm
# registry or Chromium is missing. Screenshots of the browser test go to WORKDIR/screenshots.
set -uo pipefail
mode=$1 troupe=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }

command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"
chromium=""
if [ "$mode" = browser ]; then
  for c in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -n "$c" ] && [ -x "$c" ] && chromium=$c && break
  done
  [ -n "$chromium" ] || skip "chromium is not installed (apt-get install chromium)"
fi

mkdir -p "$work" && work=$(cd "$work" && pwd)
cp "$here/package.json" "$here"/*.mjs "$work/"  # ES modules resolve packages next to the script
if [ ! -d "$work/node_modules/openai" ] || [ ! -d "$work/node_modules/puppeteer-core" ]; then
  (cd "$work" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error >npm-install.log 2>&1) ||
    { tail -5 "$work/npm-install.log"; skip "npm install failed (is the npm registry reachable?)"; }
fi

run_dir="$work/$mode"
rm -rf "$run_dir" && mkdir -p "$run_dir/eval"
key=""
args=(--data-dir "$run_dir/data" --eval-dir "$run_dir/eval")
if [ "$mode" = openai ]; then key="test-key-$$"; args+=(--api-key "$key"); fi
node "$work/eval_fixture.mjs" "$run_dir/eval"
"$troupe" -q serve --host 127.0.0.1 --port 0 --port-file "$run_dir/port" "${args[@]}" 2>"$run_dir/server.log" &
server=$!
for _ in $(seq 1200); do [ -f "$run_dir/port" ] && break; kill -0 $server 2>/dev/null || break; sleep 0.1; done
[ -f "$run_dir/port" ] || { cat "$run_dir/server.log"; echo "troupe serve did not start"; exit 1; }
base="http://127.0.0.1:$(cat "$run_dir/port")"

cd "$work"
if [ "$mode" = openai ]; then
  BASE_URL=$base API_KEY=$key node "$work/openai_client.mjs"; rc=$?
else
  BASE_URL=$base CHROMIUM=$chromium OUT="$work/screenshots" node "$work/studio_browser.mjs"; rc=$?
fi
kill -TERM $server; wait $server; src=$?
[ $src -eq 0 ] || { echo "troupe serve exited with $src after SIGTERM"; tail -20 "$run_dir/server.log"; rc=1; }
exit $rc
