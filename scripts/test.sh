#!/usr/bin/env bash
# Run the whole test suite: set up .venv, make sure Debian's Chromium is there for the browser
# test (installed with apt when running as root), then pytest over tests/ and notebooks/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "rxviz: installing chromium for the browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0
exec .venv/bin/python -m pytest --nbval-lax "$@"
