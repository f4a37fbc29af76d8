#!/usr/bin/env bash
# Set up what is missing, then serve the dashboard with Voila on the bundled model: `rxviz
# dashboard`, which listens on 127.0.0.1 only. RXVIZ_PORT sets the port; extra arguments go to
# Voila (README: "A class at once"). To let other machines in, set RXVIZ_HOST (0.0.0.0, or one of
# this machine's addresses): the server then asks every visitor for a token, RXVIZ_TOKEN or one
# made at start, printed with the address to share. The server's settings (upload size, culling
# of idle kernels, patience with a slow start, the pages' security policy) are Binder's, read
# from binder/jupyter_server_config.py through binder/voila.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/rxviz dashboard "$@"
