#!/usr/bin/env bash
# Benchmark of `reachdiff serve` as a fleet on one PostgreSQL queue
# (issue #21), against the local fake GitHub and a throwaway PostgreSQL.
#
#   bash .ci/bench-fleet.sh
#   LATENCY_MS=300 WORKERS=2 PULLS=12 bash .ci/bench-fleet.sh
#   PROFILE=debug bash .ci/bench-fleet.sh   (the test build, no release build)
#
# What it measures (all on loopback, one machine):
#  1. Wall time for PULLS (12) pull requests with 1 replica, then with 3:
#     from the first delivery until every pull request has its completed
#     check run and its sticky comment. Each pull request has its own head
#     commit (a generated tree of WORKLOADS workloads whose head changes
#     policies, plus one file of its own). Deliveries go round-robin to the
#     replicas, as a load balancer would send them. Every replica runs
#     WORKERS workers (default 1, as one replica with a 1-CPU limit would),
#     and the fake GitHub answers every API call after LATENCY_MS
#     (default 150 ms; real GitHub answers in about 100-300 ms). Git
#     fetches are file:// and not delayed. Bar: 3 replicas <= 0.6x of 1.
#  2. Takeover after SIGKILL: 2 replicas with --queue-recovery-seconds
#     RECOVERY (default 15; --github-timeout 10), one pull request; the
#     replica holding its lease (read from the database) is SIGKILLed as
#     soon as it takes the job; time from the kill until the pull request's
#     check run is completed by the survivor (one run: adopted, not a
#     second). Expected: between 2/3 and all of RECOVERY (a heartbeat
#     every third of it) plus the job itself.
#  3. Webhook acknowledgement latency with the database in the path:
#     DELIVERIES (1000) signed deliveries, 16 at a time, over 50 pull
#     requests, to one of 3 replicas while they analyse; p50/p90/p99 from
#     the load tool (first byte sent to last byte of the answer).
#     Bar: p99 < 50 ms.
#
# PostgreSQL runs with its default settings (fsync on) from the machine's
# binaries (/usr/lib/postgresql/*/bin), as the postgres user when root.
set -euo pipefail
cd "$(dirname "$0")/.."

latency=${LATENCY_MS:-150}
workers=${WORKERS:-1}
pulls=${PULLS:-12}
workloads=${WORKLOADS:-300}
recovery=${RECOVERY:-15}
deliveries=${DELIVERIES:-1000}

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  echo "SKIPPED: no PostgreSQL binaries in /usr/lib/postgresql/*/bin"
  exit 0
fi

# PROFILE=debug measures the test build instead (no release build needed;
# analyses are then several times slower, so replicas help less).
profile=${PROFILE:-release}
if [ "$profile" = release ]; then
  cargo build --release --bin reachdiff --example generate --example fake_github --example webhook_load
else
  cargo build --bin reachdiff --example generate --example fake_github --example webhook_load
fi
bin=target/$profile
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${pg_pid:-}" ]; then kill -INT "$pg_pid" 2>/dev/null || true; sleep 1; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---------------------------------------------------------------- postgres
as_pg=()
if [ "$(id -u)" = 0 ]; then
  uid=$(id -u postgres 2>/dev/null || id -u nobody)
  gid=$(id -g postgres 2>/dev/null || id -g nobody)
  as_pg=(setpriv "--reuid=$uid" "--regid=$gid" --clear-groups)
  mkdir -p "$tmp/pg" && chown "$uid:$gid" "$tmp/pg"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/pg/data" -U reachdiff --auth=trust -E UTF8 >/dev/null
"${as_pg[@]}" "$pgbin/postgres" -D "$tmp/pg/data" -h 127.0.0.1 -p "$port" -k "$tmp/pg" \
  -c max_connections=200 >"$tmp/pg.log" 2>&1 &
pg_pid=$!
for _ in $(seq 200); do "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" && break; sleep 0.05; done
psql_() { "$pgbin/psql" -qAtX -h 127.0.0.1 -p "$port" -U reachdiff "$@"; }
database() { # a fresh database named $1; sets $queue to its URL
  psql_ -d postgres -c "CREATE DATABASE $1" >/dev/null
  queue="postgres://reachdiff@127.0.0.1:$port/$1"
}

# ------------------------------------------------------------------ origin
. .ci/bench-origin.sh
bench_origin
policy_head=$head
heads=()
for i in $(seq 1 $((pulls + 60))); do
  g checkout -q -B "pr-$i" "$policy_head"
  echo "pull request $i" >"$tmp/origin/pr-$i.txt"
  g add "pr-$i.txt" && g commit -qm "pr $i"
  heads+=("$(g rev-parse HEAD)")
done
g checkout -q main
echo "origin: $workloads workloads, $(g ls-files | wc -l) files at base ${base:0:12}"

# Processes are started by functions that set a variable rather than print
# (a command substitution would start them in a subshell, and their ids
# would never reach the cleanup).
# ------------------------------------------------------------- fake GitHub
start_fake() { # $1: name; numbers 1..N get pull requests; sets $api
  local args=() i
  for i in $(seq 1 $((pulls + 60))); do
    args+=(--pull "acme/gitops#$i=$base..${heads[$((i - 1))]}")
  done
  # Unlisted: the replicas' start-up reconciliation must not queue them;
  # only the deliveries do.
  $bin/examples/fake_github --port 0 --app-id 4242 --latency-ms "$latency" --unlisted \
    --public-key fixtures/app/test-app-key.pub.pem \
    --repo "acme/gitops=file://$tmp/origin" "${args[@]}" >"$tmp/fake-$1.out" 2>"$tmp/fake-$1.err" &
  pids+=($!)
  fake_pid=$!
  for _ in $(seq 200); do grep -q '^listening on ' "$tmp/fake-$1.out" 2>/dev/null && break; sleep 0.05; done
  api=$(sed -n 's/^listening on //p' "$tmp/fake-$1.out" | head -1)
}

printf 'bench-secret' >"$tmp/secret"
serve_pids=()
start_serve() { # $1: name, $2: API URL, $3: queue URL, rest: flags; sets $url
  local name=$1 api=$2 queue=$3
  shift 3
  REACHDIFF_LOG=warn $bin/reachdiff serve --listen 127.0.0.1:0 --app-id 4242 \
    --private-key fixtures/app/test-app-key.pkcs1.pem --webhook-secret "$tmp/secret" \
    --github-api-url "$api" --cache-dir "$tmp/cache-$name" --allow-local-clone-urls \
    --queue-url "$queue" --workers "$workers" "$@" \
    >"$tmp/serve-$name.out" 2>"$tmp/serve-$name.err" &
  serve_pids+=($!)
  pids+=($!)
  for _ in $(seq 400); do grep -q '^listening on ' "$tmp/serve-$name.out" 2>/dev/null && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$tmp/serve-$name.out" | head -1)
}

deliver() { # $1: replica URL, $2: pull request number
  $bin/examples/webhook_load --url "$1/webhook" --secret-file "$tmp/secret" \
    --deliveries 1 --concurrency 1 --repo acme/gitops --pull "$2" \
    --base "$base" --head "${heads[$(($2 - 1))]}" --clone-url "file://$tmp/origin" \
    --installation 1 --max-p99-ms 100000 >/dev/null
}

finished() { # $1: fake URL, $2: first number, $3: count: pull requests with a completed run and a comment
  curl -fsS "$1/_fake/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)
first, count = int(sys.argv[1]), int(sys.argv[2])
want = set(range(first, first + count))
runs = {int(r.get("external_id") or 0) for r in s.get("check_runs", []) if r.get("status") == "completed"}
comments = {int(c.get("number") or 0) for c in s.get("comments", [])}
print(len(want & runs & comments))
' "$2" "$3"
}

runs_of() { # $1: fake URL, $2: number: "total completed conclusion..."
  curl -fsS "$1/_fake/state" | python3 -c '
import json, sys
runs = [r for r in json.load(sys.stdin).get("check_runs", []) if str(r.get("external_id")) == sys.argv[1]]
print(len(runs), sum(r.get("status") == "completed" for r in runs), *[r.get("conclusion") for r in runs])
' "$2"
}

stop_all() { # the replicas and the fake of one measurement
  for p in "${serve_pids[@]}" "$fake_pid"; do kill "$p" 2>/dev/null || true; done
  for p in "${serve_pids[@]}" "$fake_pid"; do wait "$p" 2>/dev/null || true; done
  serve_pids=()
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b - a}'; }

# ------------------------------------------------------- 1: wall time 1 vs 3
wall() { # $1: replicas; sets $took (seconds)
  local n=$1 urls=() i t0 t1
  start_fake "wall$n"
  database "wall$n"
  for i in $(seq 1 "$n"); do start_serve "wall$n-$i" "$api" "$queue"; urls+=("$url"); done
  t0=$(now)
  for i in $(seq 1 "$pulls"); do deliver "${urls[$(((i - 1) % n))]}" "$i"; done
  local deadline=$(( $(date +%s) + 600 ))
  until [ "$(finished "$api" 1 "$pulls")" -ge "$pulls" ]; do
    [ "$(date +%s)" -gt "$deadline" ] && { echo "timeout" >&2; break; }
    sleep 0.05
  done
  t1=$(now)
  stop_all
  took=$(secs "$t0" "$t1")
}

echo
echo "== 1: $pulls pull requests, API latency ${latency} ms, $workers worker(s) per replica"
wall 1
one=$took
echo "1 replica:  ${one} s"
wall 3
three=$took
echo "3 replicas: ${three} s"
ratio=$(awk -v a="$one" -v b="$three" 'BEGIN{printf "%.2f", b / a}')
echo "ratio 3/1:  ${ratio} (bar: <= 0.60)"

# ------------------------------------------------------------ 2: takeover
echo
echo "== 2: takeover after SIGKILL, --queue-recovery-seconds $recovery"
start_fake takeover
database takeover
start_serve take-a "$api" "$queue" --queue-recovery-seconds "$recovery" --github-timeout 10
a=$url
start_serve take-b "$api" "$queue" --queue-recovery-seconds "$recovery" --github-timeout 10
deliver "$a" 1
owner=""
for _ in $(seq 400); do
  owner=$(psql_ -d takeover -c "SELECT owner FROM reachdiff_jobs WHERE owner IS NOT NULL AND lease_until > now()" 2>/dev/null || true)
  [ -n "$owner" ] && break
  sleep 0.02
done
# owner is HOSTNAME-PID-LEASE: the holder's process id is the next to last field.
holder=$(awk -F- '{print $(NF-1)}' <<<"$owner")
[ -n "$holder" ] || { echo "FAIL: no replica took the job"; exit 1; }
kill -9 "$holder"
killed=$(now)
deadline=$(( $(date +%s) + recovery * 4 + 60 ))
until [ "$(runs_of "$api" 1 | cut -d' ' -f2)" -ge 1 ]; do
  [ "$(date +%s)" -gt "$deadline" ] && { echo "timeout" >&2; break; }
  sleep 0.05
done
taken=$(now)
takeover=$(secs "$killed" "$taken")
runs=$(runs_of "$api" 1)
echo "killed replica pid $holder holding the lease; check run completed by the survivor after ${takeover} s"
echo "check runs for the head (total, completed, conclusions): $runs"
stop_all

# ---------------------------------------------------- 3: acknowledgement
echo
echo "== 3: $deliveries deliveries, 16 at a time, to one of 3 replicas (database in the path)"
start_fake ack
database ack
start_serve ack-1 "$api" "$queue"
u1=$url
start_serve ack-2 "$api" "$queue"
start_serve ack-3 "$api" "$queue"
set +e
$bin/examples/webhook_load --url "$u1/webhook" --secret-file "$tmp/secret" \
  --deliveries "$deliveries" --concurrency 16 --repo acme/gitops --pull $((pulls + 1)) --pulls 50 \
  --base "$base" --head "${heads[$pulls]}" --clone-url "file://$tmp/origin" --installation 1 \
  --max-p99-ms 50 | tee "$tmp/ack.txt"
ack_ok=${PIPESTATUS[0]}
set -e
stop_all

echo
echo "== summary ($profile build; machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo "wall time, $pulls pull requests: 1 replica ${one} s, 3 replicas ${three} s, ratio ${ratio}"
echo "takeover after SIGKILL: ${takeover} s (recovery ${recovery} s); runs: $runs"
grep '^latency' "$tmp/ack.txt" | sed 's/^/acknowledgement /'
status=0
awk -v r="$ratio" 'BEGIN{exit !(r <= 0.6)}' || { echo "FAIL: 3 replicas took ${ratio}x the time of 1 (bar 0.6)"; status=1; }
[ "$(cut -d' ' -f1 <<<"$runs")" = 1 ] || { echo "FAIL: the taken-over head has $runs check runs"; status=1; }
[ "$ack_ok" -eq 0 ] || { echo "FAIL: unacknowledged deliveries or p99 >= 50 ms"; status=1; }
[ "$status" -eq 0 ] && echo "all fleet bars met"
exit "$status"
