"""Is this radiograph of the kind the model learned from? The domain check of every analysis.

[`check`][rxviz.domain.check] combines what a DICOM header says with three pixel checks:
[`ood`][rxviz.domain.ood] (not a chest radiograph), [`geometry`][rxviz.domain.geometry] (not a frontal
view) and a network that tells the training hospital's radiographs from others'
([`rxviz.training.domain`][rxviz.training.domain] fits them; [`rxviz.training.external`][rxviz.training.external] measures them on
other hospitals' radiographs).
"""

from .check import POPULATION, DomainCheck, DomainReading, DomainWarning
from .ood import OODDetector

__all__ = ["DomainCheck", "DomainReading", "DomainWarning", "OODDetector", "POPULATION"]
