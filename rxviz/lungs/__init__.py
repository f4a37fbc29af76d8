"""Where are the lungs? The lung segmenter and how a heatmap's mass falls on the lung fields.

- [`segmenter`][rxviz.lungs.segmenter]: image -> lung mask, and the lungs' box the classifier is framed on.
- [`zones`][rxviz.lungs.zones]: a heatmap's share inside the lungs and per lung zone, and its core (the
  smallest region holding half its mass), in words.
- [`rxviz.training.lungs`][rxviz.training.lungs] holds what makes the segmenter: the reference masks and their
  split, training (``rxviz train-lungs``) and scoring (``rxviz lungs-eval``).
"""

from .segmenter import (DEFAULT_LUNG_MODEL_DIR, LUNG_OUTPUT, LungSegmenter, clean_mask, dice, keras_segmenter,
                        load_segmenter, lung_box, lung_mask, lung_model_dir, segmenter_model)
from .zones import OUTSIDE, ZONES, describe_core, describe_heat, heat_core, lung_focus, lung_zones, zone_map, zone_shares

__all__ = ["DEFAULT_LUNG_MODEL_DIR", "LUNG_OUTPUT", "LungSegmenter", "OUTSIDE", "ZONES", "clean_mask",
           "describe_core", "describe_heat", "dice", "heat_core", "keras_segmenter", "load_segmenter", "lung_box", "lung_focus", "lung_mask",
           "lung_model_dir", "lung_zones", "segmenter_model", "zone_map", "zone_shares"]
