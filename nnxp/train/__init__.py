"""Training: the loop (:mod:`.loop`), its callbacks (:mod:`.callbacks`) and evaluation
(:mod:`.evaluate`); ``from nnxp.train import Trainer`` as before the split."""

from nnxp.train.callbacks import (
    Callback,
    Checkpoint,
    DivergenceGuard,
    EpochLog,
    HistoryPlot,
    MetricsLog,
    ProgressBar,
    TrainingDiverged,
)
from nnxp.train.evaluate import accuracy, confusion_matrix, predict_labels
from nnxp.train.loop import FLUSH_EVERY, GRADIENTS, SAMPLINGS, Trainer

__all__ = [
    "FLUSH_EVERY",
    "GRADIENTS",
    "SAMPLINGS",
    "Callback",
    "Checkpoint",
    "DivergenceGuard",
    "EpochLog",
    "HistoryPlot",
    "MetricsLog",
    "ProgressBar",
    "Trainer",
    "TrainingDiverged",
    "accuracy",
    "confusion_matrix",
    "predict_labels",
]
