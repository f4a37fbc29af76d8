"""The dashboard: upload or pick a chest X-ray, read the probabilities, study a live heatmap.

``notebooks/dashboard.ipynb`` only displays ``Dashboard().widget``; all behaviour lives here so
tests can drive it without a browser (set a control's value or call [`Dashboard.load`][rxviz.dashboard.app.Dashboard.load], then
read the widgets back). Its parts, one module each: the viewer (the radiograph and its heatmap,
zoom, pan and window/level in the browser), the explanation's controls, the comparison grids, the
report download and teaching mode; ``page`` holds their HTML and CSS. The example menu's images
come from [`rxviz.examples`][rxviz.examples].
"""

from ..examples import Example, find_examples
from .app import Dashboard

__all__ = ["Dashboard", "Example", "find_examples"]
