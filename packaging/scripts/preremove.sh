#!/bin/sh
# Before removal (not on upgrade): stop and disable the unit.
# deb: $1 = remove | upgrade | deconfigure; rpm: $1 = 0 on erase, 1 on upgrade.
set -e
NAME=@NAME@
case "$1" in
  remove|0)
    if [ -d /run/systemd/system ]; then
      systemctl disable --now "$NAME.service" >/dev/null 2>&1 || true
    fi
    ;;
esac
exit 0
