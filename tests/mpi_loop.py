"""The hand-written loop of nnxp.distributed's docstring, as a user writes it: run under
``mpiexec -n N`` (N = 1 or 2) by tests/test_mpi.py, which compares the weights rank 0 writes
to OUT.npy."""

from __future__ import annotations

import sys

import numpy as np

from nnxp import distributed
from nnxp.models.two_layer import TwoLayerNet
from nnxp.optim import SGD


def main(out: str) -> None:
    comm = distributed.init()
    rng = np.random.default_rng(5)  # the same data and batches on every process
    x = rng.standard_normal((200, 12))
    t = np.argmax(x @ rng.standard_normal((12, 3)), axis=1)
    net = TwoLayerNet(12, 8, 3, dtype="float64", seed=comm.rank)  # a different seed per rank:
    comm.broadcast_params(net)                                   # rank 0's weights win
    optimizer = SGD(lr=0.1)
    start, stop = comm.batch_share(20)
    losses = []
    for _ in range(30):
        batch = rng.choice(200, 20)
        grads = net.gradient(x[batch[start:stop]], t[batch[start:stop]])
        grads, loss, _ = comm.average(grads, net.last_layer.loss)
        optimizer.update(net.params, grads)
        losses.append(float(loss))
    if comm.rank == 0:
        np.save(out, np.concatenate([np.asarray(losses),
                                     *(np.ravel(net.params[k]) for k in net.params)]))


if __name__ == "__main__":
    main(sys.argv[1])
