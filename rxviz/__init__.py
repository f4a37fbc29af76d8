"""rxviz: an explainable chest X-ray classifier for teaching and research (not a medical device).

    import rxviz
    result = rxviz.analyze("chest.jpeg")          # path, bytes or numpy array
    result.label, result.probabilities, result.heatmap

A plain analysis runs the models' ONNX copies ([`rxviz.runtime`][rxviz.runtime]); TensorFlow is imported only
when a gradient-based explanation method, a trust check or training needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .io import InputError, load_image

__version__ = "0.1.0"
__all__ = ["analyze", "Classifier", "Result", "InputError", "load_image", "methods", "register_method",
           "get_method", "Method", "wrap_model", "__version__"]

if TYPE_CHECKING:
    from .api import Classifier, Result, analyze
    from .explain import Method, get_method, register_method
    from .wrap import wrap_model


def methods() -> list[str]:
    """Names of the explanation methods ``analyze(method=...)`` accepts."""
    from .explain import METHODS

    return list(METHODS)


def __getattr__(name: str) -> Any:
    if name in ("analyze", "Classifier", "Result"):
        from . import api

        return getattr(api, name)
    if name in ("register_method", "get_method", "Method"):
        from . import explain

        return getattr(explain, name)
    if name == "wrap_model":
        from .wrap import wrap_model

        return wrap_model
    raise AttributeError(f"module 'rxviz' has no attribute {name!r}")
