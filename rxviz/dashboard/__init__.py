"""The dashboard: upload or pick a chest X-ray, read the probabilities, study a live heatmap.

``notebooks/dashboard.ipynb`` only displays ``Dashboard().widget``; all behaviour lives here so
tests can drive it without a browser (set a control's value or call :meth:`Dashboard.load`, then
read the widgets back). The parts: :mod:`.examples` (which images the example menu offers),
:mod:`.views` (the HTML each panel shows) and :mod:`.app` (the widgets and what they do).
"""

from .app import Dashboard
from .examples import Example, find_examples

__all__ = ["Dashboard", "Example", "find_examples"]
