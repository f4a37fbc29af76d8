"""What makes a model: the labelled radiographs of every source, training, scoring, fitting the
domain check, and writing the ONNX copies and the model cards.

Nothing that answers with a model (``rxviz.analyze``, the dashboard, the runtime) imports this
package, so a reader sees at once which code makes a model and which answers with it; the
``rxviz`` commands that make one (``train``, ``evaluate``, ``fit-domain``, ``export``,
``train-lungs``, ``lungs-eval``) and [`rxviz.wrap_model`][rxviz.wrap.wrap_model] import it when called. It needs the
``tensorflow`` extra.

- [`sources`][rxviz.training.sources]: Kermany, multisite and external radiographs in one label space;
- [`classifier`][rxviz.training.classifier]: ``rxviz train``;
- [`evaluate`][rxviz.training.evaluate]: ``rxviz evaluate`` and the model card's figures;
- [`external`][rxviz.training.external]: the model and its domain check on other hospitals' radiographs;
- [`domain`][rxviz.training.domain]: ``rxviz fit-domain``;
- [`export`][rxviz.training.export]: the ONNX copies, written and checked;
- [`lungs`][rxviz.training.lungs]: the lung segmenter's reference masks, training and scoring.
"""
