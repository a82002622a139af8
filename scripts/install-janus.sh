#!/usr/bin/env bash
# Debian's Janus (VideoRoom, HTTP transport) and janus-tools for the Janus tests; idempotent.
# The tests start their own Janus on free ports, so the package's service must not run.
set -euo pipefail
if [ -x /usr/bin/janus ] && [ -x /usr/bin/janus-pp-rec ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Janus is missing: run 'sudo apt-get install janus janus-tools' once." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Without systemd the package's init script would start a system Janus on ports 8088/7088:
# policy-rc.d (exit 101) tells invoke-rc.d not to start any service during the install.
policy=/usr/sbin/policy-rc.d
placed=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  placed=1
fi
remove_policy() { if [ "$placed" = 1 ]; then rm -f "$policy"; fi; }
trap remove_policy EXIT
apt-get update -q
apt-get install -y -q --no-install-recommends janus janus-tools
# The package enables its service for the next boot: keep it off there too.
if [ -d /run/systemd/system ]; then
  systemctl disable --now janus.service >/dev/null 2>&1 || true
else
  update-rc.d janus disable >/dev/null 2>&1 || true
fi
