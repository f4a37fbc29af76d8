#!/usr/bin/env bash
# Set up what is missing, then serve the dashboard with Voila on the bundled model.
# Listens on 127.0.0.1 only. RXVIZ_PORT sets the port; extra arguments go to Voila (README: "A class
# at once"). To let other machines in, set RXVIZ_HOST (0.0.0.0, or one of this machine's
# addresses): the server then asks every visitor for a token, RXVIZ_TOKEN or one made here,
# printed with the address to share. The server's settings (upload size, culling of idle kernels,
# patience with a slow start, the pages' security policy) are Binder's, read from
# binder/jupyter_server_config.py through binder/voila.py.
set -euo pipefail
cd "$(dirname "$0")/.."
for argument in "$@"; do
    case "$argument" in
        --ip*|--Voila.ip*|--token*|--Voila.token*|--Voila.auto_token*|--IdentityProvider.*)
            echo "rxviz: $argument: set RXVIZ_HOST (and RXVIZ_TOKEN) instead, so that the server asks for a token" >&2
            exit 2 ;;
    esac
done
scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0
export JUPYTER_PATH="$PWD/binder/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"  # rxviz's page template
PORT=${RXVIZ_PORT:-8866}
HOST=${RXVIZ_HOST:-127.0.0.1}
access=(--Voila.ip="$HOST")
case "$HOST" in
    127.0.0.1|localhost|::1)
        echo "rxviz: open http://127.0.0.1:$PORT/ in your browser (Ctrl+C stops the server)" ;;
    *)
        TOKEN=${RXVIZ_TOKEN:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24))')}
        if [ ${#TOKEN} -lt 16 ]; then
            echo "rxviz: RXVIZ_TOKEN must be at least 16 characters" >&2
            exit 2
        fi
        access+=(--Voila.token="$TOKEN")
        shown=$HOST
        [ "$HOST" = 0.0.0.0 ] && shown=$(hostname -I 2>/dev/null | cut -d' ' -f1) && shown=${shown:-THIS-MACHINE}
        echo "rxviz: listening on $HOST:$PORT for other machines; every visitor needs the token."
        echo "rxviz: share this address (it holds the token): http://$shown:$PORT/?token=$TOKEN"
        echo "rxviz: the traffic is not encrypted: on a network you do not trust, deploy the hub"
        echo "       over HTTPS instead (README: Deploying for a class, securely). Ctrl+C stops it." ;;
esac
exec .venv/bin/voila notebooks/dashboard.ipynb --no-browser "${access[@]}" --port="$PORT" \
    --Voila.config_file_paths="['$PWD/binder']" "$@"
