"""What a training run can choose: the classifier's and the segmenter's training settings.

Kept apart from the training code so that the command line can show their defaults without
importing TensorFlow. Each run writes the settings it used into its model card.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Every choice a training run makes; written to the model card as it was used."""

    input_size: int = 128
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 4e-3
    warmup_epochs: int = 2
    label_smoothing: float = 0.05
    ema_momentum: float = 0.99  # evaluate and keep a moving average of the weights: steadier epochs
    validation_fraction: float = 0.12  # random patients of the rest
    shift_fraction: float = 0.12  # lowest patient IDs of each series: checkpoint selection
    lung_crop_margin: float | None = 0.1  # frame on the lungs' box widened by this; None: whole image
    reframe_variants: int = 0  # per training image, this many copies with a random collimation:
    reframe_cut: float = 0.15  # ... top and bottom each cut by up to this share of the height
    reframe_pad: float = 0.10  # ... or grown by up to this share, repeating the edge rows
    processing: float = 0.0  # share of those copies also given a hospital's look: one random processing
    # of rxviz.training.processing (exposure, sharpening, smoothing, equalisation, noise, JPEG, aspect)
    consistency: float = 0.0  # > 0: batches of pairs, two framings of each image, and this weight on
    # the Jensen-Shannon divergence between their answers (AugMix's consistency loss); needs variants
    seed: int = 1234
    limit: int | None = None  # use only this many training images (smoke tests)


@dataclass
class LungTrainConfig:
    """Every choice a segmenter training run makes; written to its card as it was used."""

    input_size: int = 128
    widths: tuple[int, ...] = (8, 16, 32, 64, 128)
    epochs: int = 80
    batch_size: int = 16
    learning_rate: float = 3e-3
    validation_fraction: float = 0.1
    test_fraction: float = 0.2
    seed: int = 7
    limit: int | None = None  # use only this many training images (smoke tests)
