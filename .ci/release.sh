#!/usr/bin/env bash
# The steps of .github/workflows/release.yml that are more than one line,
# kept here so that they can be run and tested off GitHub
# (tests/it/workflows.rs runs `commit` on a scratch repository).
#
#   release.sh check VERSION                    version is X.Y.Z, equals Cargo.toml, tag is new
#   release.sh package VERSION TARGET PLATFORM  dist/reachdiff-VERSION-PLATFORM.tar.gz
#   release.sh unpack                           dist/*.tar.gz -> dist/PLATFORM/reachdiff (image context)
#   release.sh checksums                        dist/SHA256SUMS
#   release.sh commit VERSION IMAGE@sha256:D    release commit: action.yml runs that image; tags vX.Y.Z, vX
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "release.sh: $*" >&2
  exit 1
}

valid_version() {
  [[ "$1" =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] || die "version \"$1\" is not MAJOR.MINOR.PATCH"
}

cargo_version() {
  sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1
}

case "${1:-}" in
check)
  version=${2:-}
  valid_version "$version"
  [ "$(cargo_version)" = "$version" ] || die "Cargo.toml says $(cargo_version), not $version"
  if git rev-parse -q --verify "refs/tags/v$version" >/dev/null; then
    die "tag v$version exists already"
  fi
  echo "releasing $version"
  ;;
package)
  version=${2:-} target=${3:-} platform=${4:-}
  valid_version "$version"
  [[ "$platform" =~ ^linux-(amd64|arm64)$ ]] || die "platform \"$platform\""
  bin="target/$target/release/reachdiff"
  [ -x "$bin" ] || die "$bin was not built"
  # A static binary runs on any Linux of its architecture.
  if file "$bin" | grep -q 'dynamically linked'; then
    die "$bin is dynamically linked"
  fi
  mkdir -p dist
  name="reachdiff-$version-$platform"
  tar -czf "dist/$name.tar.gz" --owner=0 --group=0 --mtime='1970-01-01' -C "$(dirname "$bin")" reachdiff
  ;;
unpack)
  shopt -s nullglob
  archives=(dist/reachdiff-*-linux-*.tar.gz)
  [ ${#archives[@]} -gt 0 ] || die "no archives in dist/"
  for a in "${archives[@]}"; do
    platform=${a%.tar.gz}
    platform=${platform##*-linux-}
    mkdir -p "dist/linux-$platform"
    tar -xzf "$a" -C "dist/linux-$platform" reachdiff
  done
  ;;
checksums)
  (cd dist && sha256sum -- *.tar.gz >SHA256SUMS && cat SHA256SUMS)
  ;;
commit)
  version=${2:-} image=${3:-}
  valid_version "$version"
  [[ "$image" =~ ^ghcr\.io/[a-z0-9][a-z0-9._/-]*@sha256:[0-9a-f]{64}$ ]] ||
    die "image \"$image\" is not ghcr.io/OWNER/NAME@sha256:DIGEST"
  grep -qx '  image: Dockerfile' action.yml || die "action.yml does not build the Dockerfile"
  sed -i "s|^  image: Dockerfile\$|  image: docker://$image|" action.yml
  git -c user.name='github-actions[bot]' \
    -c user.email='41898282+github-actions[bot]@users.noreply.github.com' \
    commit -q -m "release $version: action.yml runs $image" -- action.yml
  git tag "v$version"
  git tag -f "v${version%%.*}" >/dev/null
  git log -1 --format='%H %s'
  ;;
*)
  die "usage: release.sh check|package|unpack|checksums|commit ..."
  ;;
esac
