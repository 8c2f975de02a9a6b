#!/usr/bin/env bash
# release-check.sh — verify what scripts/release.sh built in dist/ as a
# user's machine would see it:
#  - the .deb unpacked into a fresh tree (dpkg -x): `mamori version` and
#    `mamori-agent version` from it report the build's version; the configs
#    are conffiles; the server starts from the tree and answers /healthz;
#  - the .rpm: %config(noreplace) and the scriptlets, unpacked with rpm2cpio;
#  - the systemd units pass `systemd-analyze verify` with no warning;
#  - the container image: its layer unpacked from the OCI layout, the
#    non-root user, the health check, and the binary run from it;
#  - RELEASE_CHECK_REPRO=1: a second build gives the same SHA256SUMS.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null 2>&1 || export PATH=$PATH:/usr/local/go/bin
DIST=$(realpath "${DIST:-dist}")
VERSION=$(git describe --tags --always --dirty --match 'v[0-9]*')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
arch=$(go env GOARCH)

echo "==> .deb in a fresh tree (dpkg -x)"
tree=$tmp/deb
mkdir -p "$tree"
for p in "$DIST"/mamori_*_"$arch".deb "$DIST"/mamori-agent_*_"$arch".deb; do
  dpkg -x "$p" "$tree"
  conffiles=$(dpkg-deb --ctrl-tarfile "$p" | tar -xO ./conffiles)
  grep -q '^/etc/mamori/' <<<"$conffiles" || fail "$p: /etc/mamori config is not a conffile"
done
got=$("$tree/usr/bin/mamori" version)
echo "    $got"
[[ $got == "mamori $VERSION "* ]] || fail "mamori version says '$got', want $VERSION"
got=$("$tree/usr/bin/mamori-agent" version)
[[ $got == "mamori-agent $VERSION "* ]] || fail "mamori-agent version says '$got', want $VERSION"
"$tree/usr/bin/mamori" validate --config "$tree/etc/mamori/mamori.yaml" >/dev/null || fail "packaged mamori.yaml does not validate"
man -l "$tree/usr/share/man/man1/mamori.1.gz" >/dev/null 2>&1 || zcat "$tree/usr/share/man/man1/mamori.1.gz" | grep -q '^.TH MAMORI 1' || fail "man page"

echo "==> binary size (docs/install.md, \"Binary size\")"
# The SDK clients must stay out of interfaces (see internal/check/*/sdk.go):
# one leak brings back hundreds of unused AWS operations (122 MB before).
max_mb=${RELEASE_MAX_SERVER_MB:-80}
size=$(stat -c %s "$tree/usr/bin/mamori")
echo "    mamori $((size / 1048576)) MiB (ceiling $max_mb), mamori-agent $(($(stat -c %s "$tree/usr/bin/mamori-agent") / 1048576)) MiB"
[ "$size" -le $((max_mb * 1048576)) ] || fail "the server binary is $((size / 1048576)) MiB, over the ${max_mb} MiB ceiling"

echo "==> the server from the tree: bind, /healthz, healthcheck"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|^listen:.*|listen: 127.0.0.1:$port|" -e "s|^data_dir:.*|data_dir: $tmp/data|" -e "s|8484|$port|" \
  "$tree/etc/mamori/mamori.yaml" >"$tmp/server.yaml"
printf '  - name: web1\n    address: 127.0.0.1\n    agent: true\n' >>"$tmp/server.yaml"
"$tree/usr/bin/mamori" server --config "$tmp/server.yaml" >"$tmp/server.log" 2>&1 &
srv=$!
ok=no
for _ in $(seq 1 100); do
  if "$tree/usr/bin/mamori" healthcheck --config "$tmp/server.yaml" >/dev/null 2>&1; then ok=yes; break; fi
  sleep 0.2
done
[ $ok = yes ] || { kill "$srv"; cat "$tmp/server.log"; fail "server from the .deb never became healthy"; }

echo "==> agent install script: enrol with a token, the agent from the tree says hello"
tok=$("$tree/usr/bin/mamori" host add web1 --config "$tmp/server.yaml" | awk 'NR==3 {print $1}')
[ -n "$tok" ] || fail "mamori host add printed no token"
sh packaging/install-agent.sh --root "$tree" --no-start --server "http://127.0.0.1:$port" --token "$tok" >/dev/null
grep -q "^server: http://127.0.0.1:$port\$" "$tree/etc/mamori/agent.yaml" || fail "install-agent did not set the server"
[ "$(stat -c %a "$tree/etc/mamori/agent.token")" = 640 ] || fail "agent.token is not 0640"
sed "s|file:/etc/mamori/agent.token|file:$tree/etc/mamori/agent.token|" "$tree/etc/mamori/agent.yaml" >"$tmp/agent.yaml"
"$tree/usr/bin/mamori-agent" --config "$tmp/agent.yaml" --state-dir "$tmp/agent" --hostname web1 >"$tmp/agent.log" 2>&1 &
agent=$!
ok=no
for _ in $(seq 1 100); do
  if grep -q 'enrolled as host web1' "$tmp/agent.log"; then ok=yes; break; fi
  sleep 0.2
done
kill "$agent" "$srv"; wait "$agent" "$srv" || true
[ $ok = yes ] || { cat "$tmp/agent.log"; fail "the installed agent did not enrol"; }

echo "==> systemd-analyze verify on the units"
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$tree/bin" "$tree/usr/lib/systemd/system"
  cp -an /usr/lib/systemd/system/. "$tree/usr/lib/systemd/system/"
  cp /bin/kill "$tree/bin/kill"
  for u in mamori mamori-agent; do
    out=$(systemd-analyze verify --man=no --root="$tree" "/usr/lib/systemd/system/$u.service" 2>&1) || fail "$u.service: $out"
    [ -z "$out" ] || fail "$u.service: $out"
    echo "    $u.service ok ($(systemd-analyze security --offline=yes --root="$tree" "$u.service" 2>&1 | tail -1 | sed 's/^→ //'))"
  done
else
  fail "systemd-analyze is missing (apt-get install systemd)"
fi

echo "==> .rpm"
for p in "$DIST"/mamori-[0-9]*.rpm "$DIST"/mamori-agent-[0-9]*.rpm; do
  [ -e "$p" ] || fail "no rpm in $DIST"
  files=$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$p" 2>/dev/null)
  grep -q '^cn /etc/mamori/' <<<"$files" || fail "$p: config is not %config(noreplace)"
  scripts=$(rpm -qp --scripts "$p" 2>/dev/null)
  grep -q useradd <<<"$scripts" || fail "$p: no user creation in the scriptlets"
done
rtree=$tmp/rpm
mkdir -p "$rtree"
# rpm2cpio exits 1 on nfpm's (valid) payload; what counts is what cpio unpacks.
(cd "$rtree" && { rpm2cpio "$(ls "$DIST"/mamori-[0-9]*.rpm | head -1)" || true; } | cpio -idm --quiet --no-absolute-filenames 2>/dev/null)
"$rtree/usr/bin/mamori" version >/dev/null || fail "mamori from the rpm"

echo "==> container image (OCI layout)"
img=$DIST/image_$arch/oci
manifest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"].split(":")[1])' "$img/index.json")
read -r config layer < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["config"]["digest"].split(":")[1], m["layers"][0]["digest"].split(":")[1])' "$img/blobs/sha256/$manifest")
python3 - "$img/blobs/sha256/$config" <<'PY' || fail "image config"
import json, sys
c = json.load(open(sys.argv[1]))["config"]
assert c["User"] == "65532:65532", c["User"]
assert c["Healthcheck"]["Test"][:2] == ["CMD", "/usr/bin/mamori"], c["Healthcheck"]
assert c["Entrypoint"] == ["/usr/bin/mamori"], c["Entrypoint"]
PY
itree=$tmp/image
mkdir -p "$itree"
tar -xzf "$img/blobs/sha256/$layer" -C "$itree"
grep -q '^mamori:x:65532:' "$itree/etc/passwd" || fail "image: no non-root user"
got=$("$itree/usr/bin/mamori" version)
[[ $got == "mamori $VERSION "* ]] || fail "image: mamori version says '$got'"
"$itree/usr/bin/mamori" validate --config "$itree/etc/mamori/mamori.yaml" >/dev/null || fail "image config does not validate"
echo "    $got; user 65532; health check; config valid"

if [ "${RELEASE_CHECK_REPRO:-0}" = 1 ]; then
  echo "==> reproducible: a second build gives the same checksums"
  DIST=$tmp/dist2 bash scripts/release.sh >"$tmp/build2.log" 2>&1 || { cat "$tmp/build2.log"; fail "second build"; }
  diff <(sed 's|  \./|  |' "$DIST/SHA256SUMS") <(sed 's|  \./|  |' "$tmp/dist2/SHA256SUMS") || fail "checksums differ between two builds"
  echo "    $(wc -l <"$DIST/SHA256SUMS") files, identical sha256"
fi
echo "release-check: all good"
