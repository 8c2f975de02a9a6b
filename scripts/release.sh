#!/usr/bin/env bash
# release.sh — build mamori's release into dist/: static binaries (linux
# amd64/arm64, the Windows agent), .deb and .rpm packages of the server and
# the agent (nfpm), the container image (OCI layout + docker tarball, built
# without a container engine), the man page, shell completions and
# SHA256SUMS.
#
# Builds are reproducible: -trimpath, no build id, every time taken from
# the last commit (SOURCE_DATE_EPOCH), so building the same commit twice
# gives the same checksums (scripts/release-check.sh verifies it).
#
# Environment: RELEASE_ARCHS (default "amd64 arm64"), DIST (default dist),
# RELEASE_WINDOWS=0 to skip the Windows agent.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null 2>&1 || export PATH=$PATH:/usr/local/go/bin

NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
DIST=$(realpath -m "${DIST:-dist}")
ARCHS=${RELEASE_ARCHS:-amd64 arm64}

VERSION=$(git describe --tags --always --dirty --match 'v[0-9]*')
REVISION=$(git rev-parse HEAD)
BRANCH=$(git rev-parse --abbrev-ref HEAD)
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
export SOURCE_DATE_EPOCH

# Package version: 1.2.3 for tag v1.2.3; 1.2.3+git4.1a2b3c4 for 4 commits
# after it; 0.0.0~gitYYYYMMDDhhmmss.1a2b3c4 before any tag (sorts before 0.0.0).
pkg_version() {
  local d
  if d=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
    if [[ $d =~ ^v([0-9][^-]*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
      echo "${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
    else
      echo "${d#v}"
    fi
  else
    echo "0.0.0~git$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S).$(git rev-parse --short=7 HEAD)"
  fi
}
PKGVERSION=$(pkg_version)

BI=github.com/mamori/mamori/internal/buildinfo
LDFLAGS="-s -w -buildid= -X $BI.Version=$VERSION -X $BI.Revision=$REVISION -X $BI.Branch=$BRANCH -X $BI.Date=$DATE"

# gobuild GOOS GOARCH PKG OUT
gobuild() {
  GOOS=$1 GOARCH=$2 CGO_ENABLED=0 GOFLAGS= go build -trimpath -buildvcs=false -ldflags "$LDFLAGS" -o "$4" "$3"
}

echo "==> mamori $VERSION (package version $PKGVERSION), sources of $DATE"
rm -rf "$DIST"
mkdir -p "$DIST"

for arch in $ARCHS; do
  echo "==> binaries linux/$arch"
  gobuild linux "$arch" ./cmd/mamori "$DIST/linux_$arch/mamori"
  gobuild linux "$arch" ./cmd/mamori-agent "$DIST/linux_$arch/mamori-agent"
done
if [ "${RELEASE_WINDOWS:-1}" != 0 ]; then
  echo "==> binaries windows/amd64 (agent)"
  gobuild windows amd64 ./cmd/mamori-agent "$DIST/windows_amd64/mamori-agent.exe"
fi

echo "==> man page and shell completions"
GEN=$DIST/gen
mkdir -p "$GEN"
host=$DIST/.host-mamori
gobuild "$(go env GOHOSTOS)" "$(go env GOHOSTARCH)" ./cmd/mamori "$host"
"$host" man >"$GEN/mamori.1"
gzip -9n <"$GEN/mamori.1" >"$GEN/mamori.1.gz"
for sh in bash zsh fish; do "$host" completion "$sh" >"$GEN/mamori.$sh"; done
rm -f "$host"

echo "==> packages (nfpm)"
for pkg in mamori mamori-agent; do
  start=no
  [ "$pkg" = mamori ] && start=yes
  scripts=$DIST/.scripts/$pkg
  mkdir -p "$scripts"
  for s in preinstall postinstall preremove postremove; do
    sed -e "s/@NAME@/$pkg/g" -e "s/@START@/$start/g" "packaging/scripts/$s.sh" >"$scripts/$s.sh"
  done
  for arch in $ARCHS; do
    for packager in deb rpm; do
      sed -e "s|\${VERSION}|$PKGVERSION|g" -e "s|\${ARCH}|$arch|g" -e "s|\${BIN}|$DIST/linux_$arch/$pkg|g" \
        -e "s|\${GEN}|$GEN|g" -e "s|\${SCRIPTS}|$scripts|g" "packaging/nfpm/$pkg.yaml" >"$scripts/nfpm.yaml"
      GOFLAGS= go run $NFPM package --config "$scripts/nfpm.yaml" --packager "$packager" --target "$DIST/"
    done
  done
done
rm -rf "$DIST/.scripts"

for arch in $ARCHS; do
  echo "==> container image linux/$arch (OCI layout, docker tarball)"
  out=$DIST/image_$arch
  (cd tools && GOFLAGS= go run ./ociimage -bin "$DIST/linux_$arch/mamori" -arch "$arch" \
    -version "$VERSION" -config ../packaging/container/mamori.yaml -out "$out")
done

echo "==> checksums"
(cd "$DIST" && find . -type f ! -name SHA256SUMS ! -path './gen/*' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
cat "$DIST/SHA256SUMS"
