#!/bin/sh
# After unpacking: the state directory and systemd.
# deb: $1 = configure, $2 = the previous version ("" on a first install).
# rpm: $1 = 1 on install, 2 on upgrade.
set -e
NAME=@NAME@
START=@START@   # yes: start on first install; no: the install script starts it
first=no
case "$1" in
  configure) [ -z "$2" ] && first=yes ;;
  1) first=yes ;;
esac
install -d -m 0750 -o "$NAME" -g "$NAME" "/var/lib/$NAME"
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
  if [ "$first" = yes ]; then
    systemctl enable "$NAME.service" >/dev/null 2>&1 || true
    [ "$START" = yes ] && systemctl start "$NAME.service" || true
  else
    systemctl try-restart "$NAME.service" >/dev/null 2>&1 || true
  fi
fi
exit 0
