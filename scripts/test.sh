#!/usr/bin/env bash
# Run the whole test suite: set up .venv, make sure Debian's Chromium (browser tests) and
# configurable-http-proxy (the JupyterHub test) are there, installed with apt and npm when
# running as root, then pytest over tests/ and notebooks/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "rxviz: installing ${missing[*]} for the browser and hub tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -x .venv/node_modules/.bin/configurable-http-proxy ] && command -v npm >/dev/null; then
    echo "rxviz: installing configurable-http-proxy (JupyterHub's proxy) into .venv with npm"
    (cd .venv && npm install --no-audit --no-fund --silent configurable-http-proxy >/dev/null)
fi
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0
exec .venv/bin/python -m pytest --nbval-lax "$@"
