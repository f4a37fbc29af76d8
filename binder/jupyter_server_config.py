# How the dashboard is served: one file for Binder and for scripts/dashboard.sh.
#
# On Binder (and JupyterHub) the server is `jupyter server`, started by Binder, with Voila as a
# server extension: binder/postBuild copies this file to ~/.jupyter/, where that server reads
# it. scripts/dashboard.sh runs Voila on its own, which reads it through binder/voila.py. Each
# server applies the sections it knows and ignores the others.
c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

# Uploads travel over the kernel's websocket, whose 10 MiB default drops a large PNG or DICOM
# silently ("Connection lost") and leaves the Upload button dead. 256 MiB lets anything up to that
# reach rxviz's own size check and its clear message. The server extension reads only the
# server's settings; Voila on its own reads only its own.
websocket = {"websocket_max_message_size": 256 * 2**20}
c.ServerApp.tornado_settings = websocket
c.Voila.tornado_settings = websocket

# Each kernel holds several hundred MiB. Voila's own request to shut a kernel down when its page
# is closed or reloaded is refused for a missing _xsrf cookie (voila#1458); rxviz.serving sets
# the cookie so that it works. Kernels whose page went away without a word (a crashed browser, a
# lost network) are shut down once idle for 2 minutes with no page connected; an open page
# keeps its kernel.
c.ServerApp.jpserver_extensions = {"rxviz.serving": True}
c.MappingKernelManager.cull_idle_timeout = 120
c.MappingKernelManager.cull_interval = 30
c.MappingKernelManager.cull_connected = False

# When many pages open at once on few cores, the notebook's output may take long to arrive:
# wait up to 2 minutes for it instead of 4 s.
c.VoilaExecutor.iopub_timeout = 120

# The loading screen names the app and carries the disclaimer: the page template in
# binder/share/jupyter/voila/templates/rxviz, found through JUPYTER_PATH by dashboard.sh and
# copied to ~/.local/share/jupyter by postBuild.
c.VoilaConfiguration.template = "rxviz"
