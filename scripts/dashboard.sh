#!/usr/bin/env bash
# Set up what is missing, then serve the dashboard with Voila on the bundled model.
# Binds to 127.0.0.1 only. RXVIZ_PORT sets the port; extra arguments go to Voila (README: "A class
# at once"). Idle kernels are culled after 10 minutes; the notebook's output may arrive late when
# many kernels start at once on few cores, so Voila waits up to 120 s for it instead of 4. Uploads
# travel over the kernel's websocket, whose 10 MiB default would drop a large DICOM silently: it is
# raised to 256 MiB, so anything up to that reaches rxviz's own size check and its clear message.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0
PORT=${RXVIZ_PORT:-8866}
echo "rxviz: open http://127.0.0.1:$PORT/ in your browser (Ctrl+C stops the server)"
exec .venv/bin/voila notebooks/dashboard.ipynb --no-browser --Voila.ip=127.0.0.1 --port="$PORT" \
    --MappingKernelManager.cull_idle_timeout=600 --MappingKernelManager.cull_interval=60 \
    --VoilaExecutor.iopub_timeout=120 \
    --Voila.tornado_settings='{"websocket_max_message_size": 268435456}' "$@"
