# Voila on its own (scripts/dashboard.sh) reads its settings from the file Binder uses; as it
# loads no server extensions, rxviz.serving's fixes are applied here, in the server's process.
load_subconfig("jupyter_server_config.py")  # noqa: F821 (provided by traitlets)

from rxviz.serving import guard_voila_pages, render_in_turn, set_xsrf_cookie_on_voila_pages  # noqa: E402

set_xsrf_cookie_on_voila_pages()
guard_voila_pages()
render_in_turn()
