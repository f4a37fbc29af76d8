"""The dashboard: upload or pick a chest X-ray, read the probabilities, study a live heatmap.

``notebooks/dashboard.ipynb`` only displays ``Dashboard().widget``; all behaviour lives here so
tests can drive it without a browser (set a control's value or call :meth:`Dashboard.load`, then
read the widgets back). The example menu's images come from :mod:`rxviz.examples`.
"""

from ..examples import Example, find_examples
from .app import Dashboard

__all__ = ["Dashboard", "Example", "find_examples"]
