#!/bin/sh
# Creates the service's system user and group before the files are unpacked
# (so that the config file can belong to its group). Used by the deb and
# the rpm package of the server (NAME=mamori) and of the agent
# (NAME=mamori-agent): nfpm substitutes @NAME@.
set -e
NAME=@NAME@
if ! getent group "$NAME" >/dev/null 2>&1; then
  groupadd --system "$NAME"
fi
if ! getent passwd "$NAME" >/dev/null 2>&1; then
  useradd --system --gid "$NAME" --home-dir "/var/lib/$NAME" --no-create-home \
    --shell /usr/sbin/nologin --comment "$NAME service" "$NAME"
fi
exit 0
