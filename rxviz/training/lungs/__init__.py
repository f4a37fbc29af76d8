"""What makes the lung segmenter (:mod:`rxviz.lungs.segmenter`): the reference masks and their
split (:mod:`~rxviz.training.lungs.data`), training (:mod:`~rxviz.training.lungs.train`,
``rxviz train-lungs``) and scoring (:mod:`~rxviz.training.lungs.evaluate`, ``rxviz lungs-eval``)."""
