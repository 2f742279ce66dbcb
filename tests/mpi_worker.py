"""One process of a test job (tests/test_mpi.py): trains a small net on synthetic data with
nnxp's public API, alone or under ``mpiexec`` with :class:`DataParallel`, and writes what it
saw to ``OUT.RANK.json``: the step losses, the accuracies, a digest of its weights, and the
step a divergence stopped it at. A fault can be injected on one rank at one step: ``raise``
(an exception), ``kill`` (SIGKILL, as a crashed node) or ``nan`` (a NaN gradient).

    python tests/mpi_worker.py OUT --model mlp [--distributed] [--fault KIND --rank R --at S]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys

import numpy as np

from nnxp.models.conv import SimpleConvNet
from nnxp.models.multi_layer import MultiLayerNetExtend
from nnxp.models.two_layer import TwoLayerNet
from nnxp.train import Callback, Trainer

TRAIN, TEST, CLASSES = 240, 90, 4


def data(images: bool) -> tuple[np.ndarray, ...]:
    """Learnable synthetic data: labels from a fixed random linear map of the inputs."""
    rng = np.random.default_rng(7)
    shape = (1, 8, 8) if images else (32,)
    x = rng.standard_normal((TRAIN + TEST, *shape))
    w = rng.standard_normal((int(np.prod(shape)), CLASSES))
    t = np.argmax(x.reshape(len(x), -1) @ w, axis=1)
    return x[:TRAIN], t[:TRAIN], x[TRAIN:], t[TRAIN:]


def network(model: str, backend: str) -> object:
    """The small float64 nets the job tests: an MLP, a conv net, dropout, batch norm."""
    kw = {"backend": backend, "dtype": "float64", "seed": 0}
    if model == "mlp":
        return TwoLayerNet(32, 16, CLASSES, **kw)
    if model == "conv":
        return SimpleConvNet((1, 8, 8), {"filter_num": 4, "filter_size": 3, "pad": 0,
                                         "stride": 1}, 16, CLASSES, 0.1, **kw)
    return MultiLayerNetExtend(32, [16, 16], CLASSES, use_dropout=model == "dropout",
                               dropout_ratio=0.3, use_batchnorm=model == "bn", **kw)


class Fault(Callback):
    """The fault ``kind`` on rank ``rank`` at step ``at`` (1-based)."""

    def __init__(self, kind: str, rank: int, at: int, my_rank: int) -> None:
        self.kind, self.at, self.armed = kind, at, kind != "none" and rank == my_rank

    def on_gradients(self, trainer, grads, loss):  # noqa: ANN001, ANN201 (the hook's signature)
        if self.armed and trainer.current_iter + 1 == self.at:
            if self.kind == "raise":
                raise RuntimeError(f"injected fault at step {self.at}")
            if self.kind == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.kind == "nan":
                first = next(iter(grads))
                grads = {**grads, first: grads[first] * float("nan")}
        return grads, loss


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--distributed", action="store_true")
    parser.add_argument("--fault", default="none")
    parser.add_argument("--rank", type=int, default=1)
    parser.add_argument("--at", type=int, default=25)
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--save")
    args = parser.parse_args()

    comm, callbacks = None, []
    if args.distributed:
        from nnxp.distributed import init
        from nnxp.train.distributed import DataParallel

        comm = init()
    rank = 0 if comm is None else comm.rank
    callbacks.append(Fault(args.fault, args.rank, args.at, rank))
    if comm is not None:
        callbacks.append(DataParallel(comm))
    x, t, xt, tt = data(args.model == "conv")
    net = network(args.model, args.backend)
    trainer = Trainer(net, x, t, xt, tt, mini_batch_size=24, iters=args.iters,
                      optimizer=args.optimizer,
                      optimizer_param={"lr": 0.01 if args.optimizer == "adam" else 0.1},
                      seed=3, verbose=False, save_path=args.save, callbacks=callbacks)
    record: dict[str, object] = {"rank": rank}
    code = 0
    try:
        if comm is None:
            trainer.train()
        else:
            with comm.guard():
                trainer.train()
    except Exception as exc:
        if getattr(exc, "step", None) is None:
            raise
        record["diverged_step"] = exc.step
        if not getattr(exc, "quiet", False):
            print(f"error: {exc}", file=sys.stderr)
        code = 2
    params = net.params
    record.update(
        loss=trainer.train_loss_list, train_acc=trainer.train_acc_list,
        test_acc=trainer.test_acc_list,
        params={k: np.asarray(net.backend.to_numpy(params[k])).ravel().tolist() for k in params},
        buffers={k: np.asarray(net.backend.to_numpy(v)).ravel().tolist()
                 for k, v in (getattr(net, "buffers", None) or {}).items()},
    )
    with open(f"{args.out}.{rank}.json", "w") as f:
        json.dump(record, f)
    return code


if __name__ == "__main__":
    sys.exit(main())
