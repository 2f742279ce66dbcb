"""Data-parallel training: the Trainer's loop on every process of an MPI job, one model.

:class:`DataParallel` is a callback. Every process holds the whole net and draws the same
global batches from the same seed (the Trainer's host generator); the callback gives each
process its contiguous share of each batch, replaces its gradients and loss by the mean over
the processes (one flat reduction per step, :meth:`nnxp.distributed.Communicator.average`),
so every process applies the same update and the weights and optimizer state stay the same
everywhere; it splits each evaluation over the processes and adds up their hits. Only rank
0 keeps the callbacks that print or write files (``reports``).

With equal shares, the mean of the processes' mean gradients is the whole batch's gradient;
Dropout draws the whole batch's mask and keeps its share; BatchNormalization takes the whole
batch's statistics, summed over the processes (a synchronised batch norm: two small sums in
forward and two in backward per layer, beside the step's one flat reduction). So N processes
compute what one does, to rounding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnxp.train.callbacks import Callback
from nnxp.train.evaluate import hits

if TYPE_CHECKING:
    from nnxp.distributed import Communicator
    from nnxp.train.loop import Trainer


def _layers(network: Any) -> list[Any]:
    """The net's layers, those inside composite layers too."""
    out: list[Any] = []
    for layer in getattr(network, "layers", []):
        out.append(layer)
        out.extend(_layers(layer))
    return out


def normalises_batches(network: Any) -> int:
    """How many batch-norm layers the net has (each sums its statistics over the job)."""
    return sum(hasattr(layer, "batch_group") for layer in _layers(network))


class DataParallel(Callback):
    """Train one net over the processes of ``comm`` (see the module's docstring).

    Pass it to every process's Trainer: ``Trainer(net, ..., callbacks=[DataParallel(comm)])``
    with the same data, seed and options everywhere; ``mini_batch_size`` is the global batch
    and must split evenly over the processes."""

    def __init__(self, comm: Communicator) -> None:
        self.comm = comm
        self.reporting = comm.rank == 0
        self.start = self.stop = 0

    def on_train_begin(self, trainer: Trainer) -> None:
        self.start, self.stop = self.comm.batch_share(trainer.batch_size)
        self.comm.broadcast_params(trainer.network)
        for layer in _layers(trainer.network):
            if hasattr(layer, "batch_share"):
                layer.batch_share = (self.start, trainer.batch_size)
            if hasattr(layer, "batch_group"):
                layer.batch_group = self.comm

    def on_batch(self, trainer: Trainer, indices: Any) -> Any:
        return indices[self.start:self.stop]

    def on_gradients(self, trainer: Trainer, grads: dict[str, Any], loss: Any
                     ) -> tuple[dict[str, Any], Any]:
        grads, loss, _ = self.comm.average(grads, loss)
        return grads, loss

    def on_accuracy(self, trainer: Trainer, x: Any, t: Any, n: int | None) -> float:
        total = int(x.shape[0]) if n is None else min(int(n), int(x.shape[0]))
        start, stop = self.comm.share(total)
        mine = hits(trainer.network, x[start:stop, ...], t[start:stop], trainer.eval_batch_size)
        return self.comm.sum_int(mine) / total if total else float("nan")

    def on_train_end(self, trainer: Trainer) -> None:
        self._release(trainer)

    def on_error(self, trainer: Trainer, error: BaseException) -> None:
        self._release(trainer)

    def _release(self, trainer: Trainer) -> None:
        """The layers back to whole batches (the net may be used alone afterwards)."""
        for layer in _layers(trainer.network):
            if hasattr(layer, "batch_share"):
                layer.batch_share = None
            if hasattr(layer, "batch_group"):
                layer.batch_group = None
