"""Can a heatmap be trusted? The checks of explanation methods (pytorch-grad-cam's ``metrics/``).

- [`sanity`][rxviz.trust.sanity]: the cascading weight-randomisation test (Adebayo et al. 2018): a map
  that does not change when the model's weights are randomised explains the image, not the model.
- [`faithfulness`][rxviz.trust.faithfulness]: deletion and insertion curves (Petsiuk et al. 2018).
- [`checks`][rxviz.trust.checks]: both over many images per method, and the verdict the model card
  records (``rxviz explain-eval``).

They run on the Keras model, so they import TensorFlow.
"""

from .checks import MethodScores, evaluate_explanations, sanity_cascades, verdict

__all__ = ["MethodScores", "evaluate_explanations", "sanity_cascades", "verdict"]
