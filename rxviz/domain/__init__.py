"""Is this radiograph of the kind the model learned from? The domain check of every analysis.

:mod:`~rxviz.domain.check` combines what a DICOM header says with three pixel checks:
:mod:`~rxviz.domain.ood` (not a chest radiograph), :mod:`~rxviz.domain.geometry` (not a frontal
view) and a network that tells the training hospital's radiographs from others'
(:mod:`rxviz.training.domain` fits them; :mod:`rxviz.training.external` measures them on
other hospitals' radiographs).
"""

from .check import POPULATION, DomainCheck, DomainReading, DomainWarning
from .ood import OODDetector

__all__ = ["DomainCheck", "DomainReading", "DomainWarning", "OODDetector", "POPULATION"]
