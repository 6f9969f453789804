#!/usr/bin/env bash
# GitHub App benchmark (`reachdiff serve`) against local fakes, on loopback.
#
#   bash .ci/bench-app.sh
#   WORKLOADS=1000 DELIVERIES=1000 PULLS=50 bash .ci/bench-app.sh
#
# Bars (issue #7):
#  1. 1,000 signed deliveries from a load tool: all acknowledged, p99
#     acknowledgement < 50 ms while analyses run, no job lost (every pull
#     request ends with a completed check run).
#  2. A medium generated repository (1,000 workloads): delivery to completed
#     check run < 3 s (cold: empty cache, so the fetch is included).
#
# The fake GitHub API is examples/fake_github.rs (it verifies the App's JWT
# and tokens); the origin is a local git repository served over file://.
set -euo pipefail
cd "$(dirname "$0")/.."

workloads=${WORKLOADS:-1000}
deliveries=${DELIVERIES:-1000}
pulls=${PULLS:-50}

cargo build --release --bin reachdiff --example generate --example fake_github --example webhook_load
bin=target/release
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# The origin: base and head of a generated tree (the head changes policies).
. .ci/bench-origin.sh
bench_origin
echo "origin: $workloads workloads, $(g ls-files | wc -l) files, base ${base:0:12}, head ${head:0:12}"

# The fake GitHub API.
$bin/examples/fake_github --port 0 --app-id 4242 \
  --public-key fixtures/app/test-app-key.pub.pem \
  --repo "acme/gitops=file://$tmp/origin" >"$tmp/fake.out" 2>"$tmp/fake.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^listening on ' "$tmp/fake.out" 2>/dev/null && break; sleep 0.05; done
api=$(sed -n 's/^listening on //p' "$tmp/fake.out" | head -1)

# The App.
printf 'bench-secret' >"$tmp/secret"
start_serve() {
  REACHDIFF_LOG=warn $bin/reachdiff serve --listen 127.0.0.1:0 --app-id 4242 \
    --private-key fixtures/app/test-app-key.pkcs1.pem --webhook-secret "$tmp/secret" \
    --github-api-url "$api" --cache-dir "$tmp/cache-$1" --workers 2 --allow-local-clone-urls \
    >"$tmp/serve-$1.out" 2>"$tmp/serve-$1.err" &
  pids+=($!)
  for _ in $(seq 200); do grep -q '^listening on ' "$tmp/serve-$1.out" 2>/dev/null && break; sleep 0.05; done
  sed -n 's/^listening on //p' "$tmp/serve-$1.out" | head -1
}

completed_for() { # number of completed check runs with external_id $1
  curl -fsS "$api/_fake/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)
runs = s.get("check_runs", [])
print(sum(1 for r in runs if r.get("status") == "completed" and str(r.get("external_id")) == sys.argv[1]))
' "$1"
}

echo
echo "== bar 2: delivery -> completed check run, $workloads workloads, cold cache"
app=$(start_serve latency)
t0=$(date +%s.%N)
$bin/examples/webhook_load --url "$app/webhook" --secret-file "$tmp/secret" \
  --deliveries 1 --concurrency 1 --repo acme/gitops --pull 1 \
  --base "$base" --head "$head" --clone-url "file://$tmp/origin" --installation 1 >/dev/null
until [ "$(completed_for 1)" -ge 1 ]; do sleep 0.01; done
t1=$(date +%s.%N)
cold=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')
echo "delivery -> completed check run: ${cold} s (bar: < 3 s)"
# Warm: the commits are cached; the analysis runs again.
t0=$(date +%s.%N)
$bin/examples/webhook_load --url "$app/webhook" --secret-file "$tmp/secret" \
  --deliveries 1 --concurrency 1 --repo acme/gitops --pull 2 \
  --base "$base" --head "$head" --clone-url "file://$tmp/origin" --installation 1 >/dev/null
until [ "$(completed_for 2)" -ge 1 ]; do sleep 0.01; done
t1=$(date +%s.%N)
warm=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')
echo "same, warm cache: ${warm} s"
curl -fsS "$app/metrics" | grep -E '^reachdiff_(analysis|job)_seconds_(sum|count)'

echo
echo "== bar 1: $deliveries signed deliveries over $pulls pull requests, analyses running"
app=$(start_serve load)
$bin/examples/webhook_load --url "$app/webhook" --secret-file "$tmp/secret" \
  --deliveries "$deliveries" --concurrency 16 --repo acme/gitops --pull 100 --pulls "$pulls" \
  --base "$base" --head "$head" --clone-url "file://$tmp/origin" --installation 1 \
  --max-p99-ms 50 | tee "$tmp/load.txt"
load_ok=${PIPESTATUS[0]}
# No job lost: every pull request ends with a completed check run.
deadline=$(( $(date +%s) + 300 ))
while :; do
  done_prs=$(curl -fsS "$api/_fake/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(len({str(r.get("external_id")) for r in s.get("check_runs", [])
           if r.get("status") == "completed" and int(r.get("external_id") or 0) >= 100}))
')
  [ "$done_prs" -ge "$pulls" ] && break
  [ "$(date +%s)" -gt "$deadline" ] && break
  sleep 0.5
done
echo "pull requests with a completed check run: $done_prs of $pulls"
curl -fsS "$app/metrics" | grep -E '^reachdiff_(webhook_deliveries_total|jobs_total|job_seconds_(sum|count))'

status=0
awk -v c="$cold" 'BEGIN{exit !(c < 3)}' || { echo "FAIL: cold delivery -> check run ${cold} s >= 3 s"; status=1; }
[ "$load_ok" -eq 0 ] || { echo "FAIL: the load tool reported unacknowledged deliveries or p99 >= 50 ms"; status=1; }
[ "$done_prs" -ge "$pulls" ] || { echo "FAIL: $((pulls - done_prs)) pull request(s) never got a completed check run"; status=1; }
[ "$status" -eq 0 ] && echo "all App bars met"
exit "$status"
