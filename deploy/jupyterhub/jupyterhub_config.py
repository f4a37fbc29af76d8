# JupyterHub on one machine with the settings of deploy/jupyterhub/values.yaml (read from it, so
# the Kubernetes deployment and this one cannot drift apart), for a class, over HTTPS only:
#
#   RXVIZ_TEACHER_PASSWORD='A LONG PASSPHRASE' .venv/bin/jupyterhub \
#       -f deploy/jupyterhub/jupyterhub_config.py --ssl-cert CERT.pem --ssl-key KEY.pem \
#       --JupyterHub.spawner_class=...
#
# The hub serves https://HOST/ (port 443, or --JupyterHub.bind_url=https://:PORT) and answers
# plain HTTP on port 80 (RXVIZ_HUB_HTTP_PORT) with nothing but a redirect to it. Logins are
# values.yaml's: NativeAuthenticator, one teacher, students approved by the teacher, accounts
# locked after failed tries; it refuses to start with the dummy authenticator or without a
# certificate unless RXVIZ_INSECURE_DEMO=1. Students' servers run rxviz's .venv from this
# checkout with binder/'s server settings. Pick a spawner that enforces memory (systemdspawner:
# The Littlest JupyterHub); tests/test_jupyterhub.py runs it with SimpleLocalProcessSpawner.
import os
import sys
from pathlib import Path

import yaml

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
here = Path(__file__).resolve().parent
repo = here.parent.parent
values = yaml.safe_load((here / "values.yaml").read_text())
user, cull, hub = values["singleuser"], values["cull"], values["hub"]

for section, settings in hub["config"].items():  # what z2jh does with hub.config
    c[section].update(settings)
# the login and HTTPS checks and the hub pages' headers: the very code that z2jh runs
exec(hub["extraConfig"]["rxviz-secure"])
if https:  # set by that code: a certificate and key were given
    c.JupyterHub.bind_url = "https://:443"
    c.ConfigurableHTTPProxy.command = [
        "configurable-http-proxy", "--redirect-port", os.environ.get("RXVIZ_HUB_HTTP_PORT", "80")]
else:  # RXVIZ_INSECURE_DEMO=1: plain HTTP, so this machine only
    c.JupyterHub.bind_url = "http://127.0.0.1:8000"

c.Spawner.default_url = user["defaultUrl"]
c.Spawner.notebook_dir = str(repo)
c.Spawner.cmd = [str(repo / ".venv" / "bin" / "jupyterhub-singleuser")]
c.Spawner.environment = {
    **user.get("extraEnv", {}),
    # what binder/postBuild copies into the image: the server settings and the page template
    "JUPYTER_CONFIG_PATH": str(repo / "binder"),
    "JUPYTER_PATH": str(repo / "binder" / "share" / "jupyter"),
}
c.Spawner.mem_guarantee = user["memory"]["guarantee"]
c.Spawner.mem_limit = user["memory"]["limit"]
c.Spawner.cpu_guarantee = user["cpu"]["guarantee"]
c.Spawner.cpu_limit = user["cpu"]["limit"]
c.Spawner.start_timeout = user["startTimeout"]

if cull["enabled"]:
    c.JupyterHub.services = [{
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={cull['timeout']}",
                    f"--cull-every={cull['every']}", f"--max-age={cull['maxAge']}"]
                   + (["--cull-users"] if cull["users"] else []),
    }]
    c.JupyterHub.load_roles = [{
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }]
