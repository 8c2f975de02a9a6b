#!/bin/sh
# After removal. The data in /var/lib/@NAME@ and the system user stay (as
# Debian policy asks): they are removed by hand, never by a package manager.
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
