"""``ParamMap``: a net's ``params``, a live mapping onto the layers' own arrays under the
book's names (W1, b1, ...): reading gives the layer's array, assigning replaces it, so the
optimizers work on every backend, JAX's immutable arrays included."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any


class ParamMap(MutableMapping):
    """A live view of the parameters: name -> the owning layer's attribute."""

    def __init__(self, slots: dict[str, tuple[Any, str]]) -> None:
        self._slots = slots

    def __getitem__(self, key: str) -> Any:
        layer, attr = self._slots[key]
        return getattr(layer, attr)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._slots:
            raise KeyError(f"{key!r} is not a parameter of this net; it has {list(self._slots)}")
        layer, attr = self._slots[key]
        setattr(layer, attr, value)

    def __delitem__(self, key: str) -> None:
        raise TypeError("a net's parameters cannot be removed")

    def __iter__(self) -> Iterator[str]:
        return iter(self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def slots(self) -> dict[str, tuple[Any, str]]:
        """For each parameter name, the layer that owns it and the attribute it lives in."""
        return dict(self._slots)

    def grads_of(self) -> dict[str, Any]:
        """The gradients backward stored beside each parameter (dW for W, db for b)."""
        return {key: getattr(layer, "d" + attr) for key, (layer, attr) in self._slots.items()}
