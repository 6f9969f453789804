#!/usr/bin/env bash
# Engine benchmark: load+analysis wall time and peak RSS per tree size.
#
#   bash .ci/bench.sh            # RSS/time table, then the criterion bench
#   bash .ci/bench.sh --quick    # the table only
#   SIZES="1000 10000" bash .ci/bench.sh --quick
#
# Trees come from `examples/generate.rs` (seed 1); each is loaded by
# `examples/analyze_only.rs` under GNU time. Targets at 10k workloads
# (~12k policies, ~36 MB of YAML): load+analysis < 2 s, peak RSS < 600 MiB,
# growth 1k -> 8k well below quadratic.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
  esac
done
sizes=${SIZES:-"1000 2000 4000 8000 10000"}

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time" >&2
  apt-get update -qq && apt-get install -y -qq time >/dev/null
fi

cargo build --release --example generate --example analyze_only
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '%-9s %9s %9s %8s %9s %9s %9s %10s %11s %9s\n' \
  workloads yaml_MiB policies rules load_ms compile_ms analyze_ms queries_ms wall_s maxrss_MiB
for n in $sizes; do
  dir="$tmp/$n"
  target/release/examples/generate --seed 1 --workloads "$n" --out "$dir" 2>/dev/null
  log="$tmp/$n.log"
  /usr/bin/time -v target/release/examples/analyze_only "$dir" 2>"$log"
  field() { grep '^timings_ms' "$log" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  bytes=$(sed -n 's/.* bytes=\([0-9]*\).*/\1/p' "$log")
  policies=$(sed -n 's/.* policies=\([0-9]*\).*/\1/p' "$log")
  rules=$(sed -n 's/.* rules=\([0-9]*\).*/\1/p' "$log")
  load=$(field load)
  compile=$(awk -v a="$(field atoms)" -v c="$(field compile)" 'BEGIN{printf "%.1f", a + c}')
  analyze=$(sed -n 's/.*load+analysis=\([0-9.]*\).*/\1/p' "$log")
  queries=$(sed -n 's/.*allowed)=\([0-9.]*\).*/\1/p' "$log")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" |
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }')
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log" | awk '{printf "%.1f", $1 / 1024}')
  printf '%-9s %9.1f %9s %8s %9s %9s %9s %10s %11s %9s\n' \
    "$n" "$(awk -v b="$bytes" 'BEGIN{print b / 1048576}')" "$policies" "$rules" \
    "$load" "$compile" "$analyze" "$queries" "$wall" "$rss"
  rm -rf "$dir"
done
echo "(wall_s and maxrss_MiB: whole process, including reading the files and 10,000 reach queries)"

# Admin tiers: the 10k tree with 20 ClusterNetworkPolicies selecting across
# namespaces must stay within 1.2x of the same tree without them.
echo
printf '%-16s %12s %12s\n' tree load_ms analysis_ms
for admin in 0 20; do
  target/release/examples/generate --seed 1 --workloads 10000 --admin-policies "$admin" --out "$tmp/a$admin" 2>/dev/null
  : >"$tmp/a$admin.runs"
  for run in 1 2 3; do
    target/release/examples/analyze_only "$tmp/a$admin" 2>&1 | grep '^timings_ms' >>"$tmp/a$admin.runs"
  done
  median() { tr ' ' '\n' <"$tmp/a$admin.runs" | sed -n "s/^$1=//p" | sort -n | sed -n 2p; }
  printf '%-16s %12s %12s\n' "10k+$admin admin" "$(median load)" "$(median compile)"
  rm -rf "$tmp/a$admin" "$tmp/a$admin.runs"
done

# The pull-request job: diff a base tree and its head (a handful of
# realistic changes) and render the Markdown comment.
# Target at 10k workloads: < 2.5 s wall and < 600 MiB peak RSS.
# This is the default, open world; .ci/bench-open-world.sh compares it with
# --closed-world.
cargo build --release --bin reachdiff
diff_sizes=${DIFF_SIZES:-"1000 10000"}
echo
printf '%-9s %8s %8s %10s %11s %9s
' workloads opened closed comment_B wall_s maxrss_MiB
for n in $diff_sizes; do
  target/release/examples/generate --seed 7 --workloads "$n" --out "$tmp/b$n" 2>/dev/null
  target/release/examples/generate --seed 7 --workloads "$n" --out "$tmp/h$n" --head 2>/dev/null
  log="$tmp/d$n.log"
  /usr/bin/time -v target/release/reachdiff diff "$tmp/b$n" "$tmp/h$n" --format md \
    --output "$tmp/d$n.md" --timings 2>"$log" || true
  target/release/reachdiff diff "$tmp/b$n" "$tmp/h$n" --format json --output "$tmp/d$n.json" 2>/dev/null || true
  opened=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["opened"]))' "$tmp/d$n.json")
  closed=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["closed"]))' "$tmp/d$n.json")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" |
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }')
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log" | awk '{printf "%.1f", $1 / 1024}')
  printf '%-9s %8s %8s %10s %11s %9s
' "$n" "$opened" "$closed" "$(wc -c <"$tmp/d$n.md")" "$wall" "$rss"
  grep '^timings' "$log" | sed 's/^/    /'
  rm -rf "$tmp/b$n" "$tmp/h$n"
done

if [ "$quick" = 0 ]; then
  cargo bench --bench engine
fi
