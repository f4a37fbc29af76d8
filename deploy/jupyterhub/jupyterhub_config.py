# JupyterHub on one machine with the settings of deploy/jupyterhub/values.yaml (read from it, so
# the Kubernetes deployment and this one cannot drift apart):
#
#   .venv/bin/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py \
#       --JupyterHub.authenticator_class=... --JupyterHub.spawner_class=...
#
# Students' servers run rxviz's .venv from this checkout with binder/'s server settings. Pick an
# authenticator and a spawner that enforces memory (systemdspawner: The Littlest JupyterHub);
# tests/test_jupyterhub.py runs it with the dummy authenticator and SimpleLocalProcessSpawner.
import sys
from pathlib import Path

import yaml

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
here = Path(__file__).resolve().parent
repo = here.parent.parent
values = yaml.safe_load((here / "values.yaml").read_text())
user, cull = values["singleuser"], values["cull"]

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
