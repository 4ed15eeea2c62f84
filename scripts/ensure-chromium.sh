#!/usr/bin/env bash
# The browser tests drive Debian's chromium through Playwright (Playwright cannot download its own
# browsers here). Install it when it is missing, so `make test` alone works on a fresh machine.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "installing Debian's chromium for the browser tests..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
