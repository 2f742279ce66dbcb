"""Numerical gradients of a layered net: one result (the book's central difference, h = 1e-4)
by three paths.

A net hands over what the book's ``numerical_gradient`` gets, the loss as a closure
(``lambda W: self.loss(x, t)``) and its parameters, plus the layers that loss runs x
through; nothing here asks what class the net is.

- ``generic``: the book's loop through the closure on any net and backend, one parameter
  element at a time, in the parameters' own dtype.
- ``jit``: Numba kernels (:mod:`nnxp.kernels.numba_netgrad`) for NumPy nets made of Affine layers with
  Sigmoid / Relu / Tanh / Identity between them and SoftmaxWithLoss at the end.
- ``vectorized``: the same nets on any Array API backend: many perturbations evaluated in
  one batched array expression, chunked to bound memory.

The fast paths compute in float64 whatever the net's dtype and cast the result back: in
float32 the book's h = 1e-4 leaves about three significant digits of the difference.
Weight decay (``0.5 * lambda * sum(W**2)`` in ``net.loss``) is added exactly: its central
difference is lambda * W.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from nnxp.backends import array_namespace, device
from nnxp.errors import NnxpError
from nnxp.functions import one_hot, sigmoid
from nnxp.gradient import H, central_difference
from nnxp.layers import Affine, Identity, Relu, Sigmoid, SoftmaxWithLoss, Tanh

METHODS: tuple[str, ...] = ("auto", "generic", "jit", "vectorized")
MAX_ELEMENTS = 2**21
"""Default bound on the elements of one batched intermediate of the vectorised path
(16 MiB in float64; a chunk holds a few such arrays)."""

_ACTIVATION_NAMES = {Sigmoid: "sigmoid", Relu: "relu", Tanh: "tanh", Identity: "identity"}


@dataclass(frozen=True)
class AffineChain:
    """A net seen as Affine layers with elementwise activations between them and
    SoftmaxWithLoss at the end: the nets the fast paths cover."""

    weight_keys: tuple[str, ...]
    bias_keys: tuple[str, ...]
    weights: tuple[Any, ...]
    biases: tuple[Any, ...]
    activations: tuple[str, ...]
    weight_decay_lambda: float


def affine_chain(layers: Sequence[Any] | None, params: Any,
                 weight_decay_lambda: float = 0.0) -> AffineChain | None:
    """``layers`` (the last one the loss layer) as an :class:`AffineChain` whose parameters
    ``params`` holds (a ParamMap: name -> (layer, attribute)), or None where they are
    anything else (other layers, parameters outside the Affine layers, no layers given)."""
    if not layers or type(layers[-1]) is not SoftmaxWithLoss:
        return None
    affines = list(layers[:-1:2])
    activations = list(layers[1:-1:2])
    if not affines or len(affines) != len(activations) + 1:
        return None
    if any(type(a) is not Affine for a in affines):
        return None
    if any(type(a) not in _ACTIVATION_NAMES for a in activations):
        return None
    owner = {(id(layer), attr): key for key, (layer, attr) in params.slots().items()}
    if len(owner) != 2 * len(affines):
        return None
    try:
        weight_keys = tuple(owner[id(a), "W"] for a in affines)
        bias_keys = tuple(owner[id(a), "b"] for a in affines)
    except KeyError:
        return None
    return AffineChain(
        weight_keys=weight_keys,
        bias_keys=bias_keys,
        weights=tuple(a.W for a in affines),
        biases=tuple(a.b for a in affines),
        activations=tuple(_ACTIVATION_NAMES[type(a)] for a in activations),
        weight_decay_lambda=float(weight_decay_lambda),
    )


def generic_numerical_gradient(loss_W: Callable[[Any], Any], params: MutableMapping[str, Any],
                               backend: Any) -> dict[str, Any]:
    """The book's loop: each parameter element moved by +-h through ``params``, the whole
    loss ``loss_W`` recomputed each time (slow: two forward passes per parameter)."""
    grads = {}
    for key in params:
        param = params[key]
        grad = central_difference(
            loss_W, param, on_change=lambda p, key=key: params.__setitem__(key, p)
        )
        grads[key] = backend.asarray(grad, dtype=param.dtype)
    return grads


def _activate(xp: Any, name: str, a: Any) -> Any:
    """The activation layers' forward, as functions of arrays of any shape."""
    if name == "sigmoid":
        return sigmoid(a)
    if name == "relu":
        return xp.where(a <= 0, 0.0, a)
    if name == "tanh":
        return xp.tanh(a)
    return a


def vectorized_chain_gradient(
    weights: tuple[Any, ...] | list[Any],
    biases: tuple[Any, ...] | list[Any],
    activations: tuple[str, ...] | list[str],
    x: Any,
    t: Any,
    h: float = H,
    max_elements: int = MAX_ELEMENTS,
) -> list[tuple[Any, Any]]:
    """(dW, db) in float64 of every Affine layer of softmax-cross-entropy(chain(x)) against t,
    by central differences evaluated many at a time (the Array API twin of the Numba kernel).

    The chain is x -> Affine(W1, b1) -> activations[0] -> ... -> Affine(WL, bL); t holds
    integer labels (N,) or target rows (N, C). For a chunk of P parameters of layer k the
    perturbed pre-activation columns form an (N, P) array; the layers after k are evaluated
    for all P at once on (P, N, width) arrays, at most about ``max_elements`` elements each.
    """
    xp = array_namespace(x, *weights, *biases)
    dev = device(x)
    f64 = xp.float64
    Ws = [xp.astype(W, f64) for W in weights]
    bs = [xp.astype(b, f64) for b in biases]
    x = xp.astype(x, f64)
    N = x.shape[0]
    x = xp.reshape(x, (N, -1))
    C = Ws[-1].shape[1]
    T = one_hot(xp.astype(t, xp.int64), C, f64) if t.ndim == 1 else xp.astype(t, f64)
    L = len(Ws)
    Xs, As = [x], []
    for k in range(L):
        As.append(Xs[k] @ Ws[k] + bs[k])
        if k < L - 1:
            Xs.append(_activate(xp, activations[k], As[k]))

    def losses(k: int, j: Any, delta: Any) -> Any:
        """loss(x, t) for each of P perturbations: column j[p] of layer k's output moved by
        delta[:, p] (an (N, P) array). Returns shape (P,)."""
        if k == L - 1:
            classes = xp.arange(C, dtype=j.dtype, device=dev)
            hit = xp.astype(j[:, None] == classes[None, :], f64)
            moved = xp.permute_dims(delta, (1, 0))[:, :, None]
            logits = As[k][None, :, :] + hit[:, None, :] * moved
        else:
            a = xp.take(As[k], j, axis=1) + delta
            dz = _activate(xp, activations[k], a) - xp.take(Xs[k + 1], j, axis=1)
            rows = xp.take(Ws[k + 1], j, axis=0)
            moved = xp.permute_dims(dz, (1, 0))[:, :, None]
            logits = As[k + 1][None, :, :] + moved * rows[:, None, :]
            for m in range(k + 2, L):
                logits = _activate(xp, activations[m - 1], logits) @ Ws[m] + bs[m]
        shifted = logits - xp.max(logits, axis=2, keepdims=True)
        log_y = shifted - xp.log(xp.sum(xp.exp(shifted), axis=2, keepdims=True))
        return -xp.sum(T[None, :, :] * log_y, axis=(1, 2)) / N

    grads = []
    for k in range(L):
        d_in, d_out = Ws[k].shape
        inputs = xp.concat([Xs[k], xp.ones((N, 1), dtype=f64, device=dev)], axis=1)
        values = xp.reshape(xp.concat([Ws[k], bs[k][None, :]], axis=0), (-1,))
        width = max(int(W.shape[1]) for W in Ws[k:])
        chunk = max(1, max_elements // (N * width))
        parts = []
        for start in range(0, (d_in + 1) * d_out, chunk):
            stop = min(start + chunk, (d_in + 1) * d_out)
            p = xp.arange(start, stop, dtype=xp.int64, device=dev)
            i, j = p // d_out, p % d_out
            w = xp.take(values, p)
            step_up, step_down = (w + h) - w, w - (w - h)
            xi = xp.take(inputs, i, axis=1)
            parts.append((losses(k, j, xi * step_up) - losses(k, j, -(xi * step_down))) / (2 * h))
        grad = xp.reshape(xp.concat(parts), (d_in + 1, d_out))
        grads.append((grad[:d_in, :], grad[d_in, :]))
    return grads


def _fast_paths(chain: AffineChain, x: Any, t: Any, backend: Any, method: str) -> dict[str, Any]:
    """The jit or vectorized result for a chain, in the parameters' dtype, decay included."""
    xp = backend.xp
    x = backend.adopt(x, backend.dtype)
    t = backend.adopt(t, backend.dtype)
    if method == "jit":
        from nnxp.backends import to_numpy
        from nnxp.kernels.numba_netgrad import affine_chain_gradient

        pairs = affine_chain_gradient(
            [to_numpy(W) for W in chain.weights], [to_numpy(b) for b in chain.biases],
            chain.activations, to_numpy(x), to_numpy(t), h=H,
        )
        pairs = [(backend.asarray(dW), backend.asarray(db)) for dW, db in pairs]
    else:
        pairs = vectorized_chain_gradient(chain.weights, chain.biases, chain.activations, x, t,
                                          h=H)
    grads: dict[str, Any] = {}
    for (dW, db), wk, bk, W in zip(pairs, chain.weight_keys, chain.bias_keys, chain.weights,
                                   strict=True):
        if chain.weight_decay_lambda and wk.startswith("W"):
            dW = dW + chain.weight_decay_lambda * xp.astype(W, dW.dtype)
        grads[wk] = xp.astype(dW, W.dtype)
        grads[bk] = xp.astype(db, W.dtype)
    return grads


def _numba_available() -> bool:
    try:
        import nnxp.kernels.numba_netgrad  # noqa: F401
    except ImportError:
        return False
    return True


def _resolve(chain: AffineChain | None, backend: Any, method: str) -> str:
    """The path a chain (None: not one) on ``backend`` takes for ``method``."""
    if method not in METHODS:
        raise NnxpError(f"unknown numerical-gradient method {method!r}: use one of "
                        f"{', '.join(METHODS)}")
    if method == "generic":
        return method
    if chain is None:
        if method == "auto":
            return "generic"
        raise NnxpError(f"method {method!r} covers nets of Affine, Sigmoid/Relu/Tanh/Identity and "
                        "SoftmaxWithLoss layers only; use method='generic' for this net")
    if method == "auto":
        return "jit" if backend.on_host and _numba_available() else "vectorized"
    if method == "jit" and not backend.on_host:
        raise NnxpError(f"method 'jit' runs on NumPy arrays, not backend {backend.name!r}; "
                        "use method='vectorized'")
    return method


def resolve_method(net: Any, method: str = "auto") -> str:
    """The path ``net.numerical_gradient(..., method)`` takes: "generic", "jit" or
    "vectorized"; raises NnxpError where the method asked for cannot run on this net."""
    chain = affine_chain(net.loss_layers(), net.params, net.weight_decay_lambda)
    return _resolve(chain, net.backend, method)


def numerical_gradient(
    loss_W: Callable[[Any], Any],
    params: Any,
    x: Any,
    t: Any,
    layers: Sequence[Any] | None = None,
    *,
    backend: Any,
    method: str = "auto",
    weight_decay_lambda: float = 0.0,
) -> dict[str, Any]:
    """Gradients of ``loss_W`` (the loss of batch x, t as a function of the parameters, the
    book's closure) for every parameter of ``params`` by central differences.

    ``layers``, the layers the loss runs x through (last layer included) with weight decay
    ``weight_decay_lambda`` added, let the fast paths recompute the loss without calling
    ``loss_W``; None leaves the generic loop. ``method``: "auto" (jit for NumPy nets the
    kernels cover, vectorized for such nets on other backends, generic otherwise), or one
    path by name. The result holds arrays of ``backend`` under the names of ``params``.
    """
    chain = affine_chain(layers, params, weight_decay_lambda)
    method = _resolve(chain, backend, method)
    if method == "generic":
        return generic_numerical_gradient(loss_W, params, backend)
    grads = _fast_paths(chain, x, t, backend, method)
    return {key: grads[key] for key in params}
