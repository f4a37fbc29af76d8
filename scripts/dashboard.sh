#!/usr/bin/env bash
# Set up what is missing, then serve the dashboard with Voila on the bundled model.
# Binds to 127.0.0.1 only. RXVIZ_PORT sets the port; extra arguments go to Voila (README: "A class
# at once"). The server's settings (upload size, culling of idle kernels, patience with a slow
# start) are Binder's, read from binder/jupyter_server_config.py through binder/voila.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0
export JUPYTER_PATH="$PWD/binder/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"  # rxviz's page template
PORT=${RXVIZ_PORT:-8866}
echo "rxviz: open http://127.0.0.1:$PORT/ in your browser (Ctrl+C stops the server)"
exec .venv/bin/voila notebooks/dashboard.ipynb --no-browser --Voila.ip=127.0.0.1 --port="$PORT" \
    --Voila.config_file_paths="['$PWD/binder']" "$@"
