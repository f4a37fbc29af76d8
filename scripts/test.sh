#!/usr/bin/env bash
# Run the whole test suite: set up .venv, make sure Debian's Chromium (browser tests) and
# configurable-http-proxy (the JupyterHub test) are there, installed with apt and npm when
# running as root; audit the installed packages for known vulnerabilities (scripts/audit.py, a
# live service or else the offline advisory snapshot: fails on one with a fixed release that
# .ci/audit-exceptions.toml does not accept), then pytest
# over tests/ and notebooks/.
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
audit=0
.venv/bin/python scripts/audit.py || audit=$?
case $audit in
    0) ;;
    3) echo "rxviz: the vulnerability audit could not run here (no vulnerability service in reach, no advisory snapshot in ../shared/advisories); the tests go on" ;;
    *) echo "rxviz: the installed packages have known vulnerabilities with a fix: upgrade, or accept one in .ci/audit-exceptions.toml with its reason"
       exit "$audit" ;;
esac
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0
exec .venv/bin/python -m pytest --nbval-lax "$@"
