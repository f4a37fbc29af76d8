"""What makes the lung segmenter ([`rxviz.lungs.segmenter`][rxviz.lungs.segmenter]): the reference masks and their
split ([`data`][rxviz.training.lungs.data]), training ([`train`][rxviz.training.lungs.train],
``rxviz train-lungs``) and scoring ([`evaluate`][rxviz.training.lungs.evaluate], ``rxviz lungs-eval``)."""
