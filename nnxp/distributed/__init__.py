"""Data-parallel training over MPI: what ``nnxp train --distributed`` uses, for your own loop.

Launch N processes with ``mpiexec -n N python script.py`` (``pip install 'nnxp[mpi]'``
brings mpi4py and MPICH's ``mpiexec``). In each::

    from nnxp import distributed
    comm = distributed.init()                       # this process: comm.rank of comm.size
    net = TwoLayerNet(784, 50, 10, seed=0)          # the same seed everywhere
    comm.broadcast_params(net)                      # rank 0's weights, to be sure
    start, stop = comm.batch_share(100)             # this process's rows of a batch of 100
    for step in range(iters):
        batch = rng.choice(train_size, 100)         # the same global batch everywhere
        grads = net.gradient(x[batch[start:stop]], t[batch[start:stop]])
        grads, loss, _ = comm.average(grads, net.last_layer.loss)   # one reduction
        optimizer.update(net.params, grads)         # the same update everywhere

or pass :class:`nnxp.train.distributed.DataParallel` to a Trainer. Nothing here imports MPI
until :func:`init` is called; :func:`launched` reads the launcher's environment alone.
"""

from nnxp.distributed.comm import Communicator, init, share
from nnxp.distributed.launch import Launch, SetupFailed, check_launch, launched, speaks

__all__ = ["Communicator", "Launch", "SetupFailed", "check_launch", "init", "launched", "share",
           "speaks"]
