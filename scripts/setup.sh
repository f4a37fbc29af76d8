#!/usr/bin/env bash
# Create .venv/ at the repository root and install rxviz with everything the dashboard and the
# tests need. Safe to run again: it only reinstalls when pyproject.toml or this script has changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "rxviz: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.rxviz-installed
want=$(cat pyproject.toml "$0" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "rxviz: installing Python packages into .venv (about a minute, ~2 GB)"
    # the venv's own setuptools (65.5 from Python 3.11) has known vulnerabilities (scripts/audit.py)
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip "setuptools>=83"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[tensorflow,dashboard,test,export,archive,hub,docs]"
    echo "$want" > "$stamp"
fi
