#!/bin/sh
# install-agent.sh — install the mamori agent on a Linux host in one line:
#
#   curl -fsSL https://mamori.example.net/install-agent.sh | sudo sh -s -- \
#     --server https://mamori.example.net --token TOKEN --package URL_OR_FILE
#
# 1. installs the package (.deb with apt-get/dpkg, .rpm with dnf/yum/rpm),
# 2. enrols: writes the server URL into /etc/mamori/agent.yaml (only when
#    it names none yet) and the host's token (from `mamori host add NAME`)
#    into /etc/mamori/agent.token, mode 0640, group mamori-agent,
# 3. enables and starts mamori-agent.service, and shows its state.
#
# Options: --server URL, --token TOKEN (or MAMORI_AGENT_TOKEN in the
# environment: kept out of `ps`), --package URL|FILE, --ca-file FILE,
# --root DIR (write the config under DIR; for tests), --no-start.
set -eu

server= token=${MAMORI_AGENT_TOKEN:-} package= cafile= root= start=yes
die() { echo "install-agent: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server=$2; shift 2 ;;
    --token) token=$2; shift 2 ;;
    --package) package=$2; shift 2 ;;
    --ca-file) cafile=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    --no-start) start=no; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ -n "$server" ] || die "--server URL is required"
[ -n "$token" ] || die "--token TOKEN (or MAMORI_AGENT_TOKEN) is required: run 'mamori host add NAME' on the server"
case "$server" in http://*|https://*) ;; *) die "--server must be an http:// or https:// URL" ;; esac
[ -n "$root" ] || [ "$(id -u)" = 0 ] || die "run as root (sudo)"

install_package() {
  p=$1
  case "$p" in
    http://*|https://*)
      tmp=$(mktemp -d)
      f=$tmp/$(basename "$p")
      curl -fsSL -o "$f" "$p" || die "cannot download $p"
      p=$f ;;
  esac
  case "$p" in
    *.deb)
      if command -v apt-get >/dev/null; then apt-get install -y "$p"; else dpkg -i "$p"; fi ;;
    *.rpm)
      if command -v dnf >/dev/null; then dnf install -y "$p"
      elif command -v yum >/dev/null; then yum install -y "$p"
      else rpm -Uvh "$p"; fi ;;
    *) die "--package must be a .deb or .rpm" ;;
  esac
}

if [ -n "$package" ]; then
  install_package "$package"
elif [ -z "$root" ] && ! command -v mamori-agent >/dev/null; then
  die "mamori-agent is not installed: give --package URL_OR_FILE"
fi

etc=$root/etc/mamori
mkdir -p "$etc"
conf=$etc/agent.yaml
[ -f "$conf" ] || printf 'token: file:/etc/mamori/agent.token\nstate_dir: /var/lib/mamori-agent\n' >"$conf"
if ! grep -q '^server:' "$conf"; then
  # Add the server (the packaged file has it commented out).
  printf 'server: %s\n' "$server" >>"$conf"
elif ! grep -q "^server: $server\$" "$conf"; then
  echo "install-agent: $conf already names a server; left as it is:" >&2
  grep '^server:' "$conf" >&2
fi
if [ -n "$cafile" ]; then
  cp "$cafile" "$etc/ca.pem"
  grep -q '^ca_file:' "$conf" || printf 'ca_file: /etc/mamori/ca.pem\n' >>"$conf"
fi
umask 027
printf '%s\n' "$token" >"$etc/agent.token"
chmod 0640 "$etc/agent.token"
if getent group mamori-agent >/dev/null 2>&1; then
  chgrp mamori-agent "$etc/agent.token" "$conf"
fi

if [ "$start" = yes ] && [ -z "$root" ]; then
  systemctl enable mamori-agent.service
  systemctl restart mamori-agent.service
  sleep 2
  systemctl --no-pager status mamori-agent.service || die "mamori-agent did not start: journalctl -u mamori-agent"
fi
echo "install-agent: enrolled with $server; config in $conf"
