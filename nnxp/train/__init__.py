"""Training: the loop (:mod:`.loop`), its callbacks (:mod:`.callbacks`) and evaluation
(:mod:`.evaluate`); ``from nnxp.train import Trainer`` as before the split."""

from nnxp.train.callbacks import *  # noqa: F403  (the callbacks and TrainingDiverged)
from nnxp.train.callbacks import __all__ as _callbacks
from nnxp.train.evaluate import accuracy, confusion_matrix, predict_labels
from nnxp.train.loop import FLUSH_EVERY, GRADIENTS, SAMPLINGS, Trainer

__all__ = ["FLUSH_EVERY", "GRADIENTS", "SAMPLINGS", "Trainer", "accuracy", "confusion_matrix",
           "predict_labels", *_callbacks]
