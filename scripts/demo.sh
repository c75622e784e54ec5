#!/bin/sh
# The whole secretwatch story on stand-in Microsoft servers (fake Entra,
# fake Exchange Online SMTP, webhook receiver on 127.0.0.1): no tenant
# needed. Exits 0 when every step did what it should.
# Usage: scripts/demo.sh [BUILD_DIR]     (default: build)
set -eu
exec /usr/bin/python3 "$(dirname "$0")/demo.py" "$@"
