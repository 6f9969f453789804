# Sourced by the App benchmarks (bench-app.sh, bench-fleet.sh): the origin
# repository they serve over file://, in "$tmp/origin": the generated tree
# of "$workloads" workloads (seed 7) committed as base, then its head (which
# changes policies) on top. Needs $tmp, $bin and $workloads; sets $base and
# $head, and defines g, git in the origin.
g() { git -C "$tmp/origin" -c user.name=bench -c user.email=bench@example.com "$@"; }

bench_origin() {
  mkdir -p "$tmp/origin"
  g init -q -b main
  g config uploadpack.allowAnySHA1InWant true
  "$bin"/examples/generate --seed 7 --workloads "$workloads" --out "$tmp/origin" 2>/dev/null
  g add -A && g commit -qm base
  base=$(g rev-parse HEAD)
  g rm -rqf . >/dev/null
  "$bin"/examples/generate --seed 7 --workloads "$workloads" --out "$tmp/origin" --head 2>/dev/null
  g add -A && g commit -qm head
  head=$(g rev-parse HEAD)
}
