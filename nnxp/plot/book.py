"""The seed's figures: training history, activations, gradient field, descent."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnxp.plot.canvas import new_figure, save_figure


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """The mean of each run of ``window`` consecutive values (shorter input: one mean)."""
    values = np.asarray(values, dtype=np.float64)
    window = max(1, min(window, values.size))
    if values.size == 0:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def plot_history(history: Mapping[str, Any], path: str | os.PathLike[str],
                 test_label: str = "test acc") -> Path:
    """Train and test accuracy per epoch (the book's figure) beside the loss per step;
    ``test_label`` names the second curve ("val acc" when it is a validation split's)."""
    fig, (acc_ax, loss_ax) = new_figure(2, 11, 4.4)
    train_acc, test_acc = history["train_acc"], history["test_acc"]
    records = history.get("epochs") or []
    epochs = ([r["epoch"] for r in records] if len(records) == len(train_acc)
              else np.arange(1, len(train_acc) + 1))  # a Trainer's history starts at epoch 0
    acc_ax.plot(epochs, train_acc, marker="o", markersize=3, label="train acc")
    acc_ax.plot(epochs, test_acc, marker="s", markersize=3, linestyle="--", label=test_label)
    acc_ax.set_xlabel("epochs")
    acc_ax.set_ylabel("accuracy")
    acc_ax.set_ylim(0, 1.0)
    acc_ax.legend(loc="lower right")
    acc_ax.grid(alpha=0.3)

    loss = np.asarray(history["train_loss"], dtype=np.float64)
    steps = np.arange(1, loss.size + 1)
    loss_ax.plot(steps, loss, color="tab:blue", alpha=0.3, linewidth=0.6, label="per step")
    window = max(1, loss.size // 100)
    if window > 1:
        smooth = moving_average(loss, window)
        loss_ax.plot(steps[window - 1 :], smooth, color="tab:blue", label=f"mean of {window}")
    loss_ax.set_xlabel("iteration")
    loss_ax.set_ylabel("loss")
    loss_ax.set_ylim(bottom=0)
    loss_ax.legend(loc="upper right")
    loss_ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_activations(path: str | os.PathLike[str]) -> Path:
    """The step function, sigmoid and ReLU on [-5, 5), as in the book's chapter 3."""
    from nnxp.functions import relu, sigmoid, step_function

    x = np.arange(-5.0, 5.0, 0.1)
    curves = [
        ("step function", step_function, (-0.1, 1.1)),
        ("sigmoid", sigmoid, (-0.1, 1.1)),
        ("ReLU", relu, (-1.0, 5.5)),
    ]
    fig, axes = new_figure(3, 12, 3.8)
    for ax, (title, f, ylim) in zip(axes, curves, strict=True):
        ax.plot(x, f(x))
        ax.set_title(title)
        ax.set_ylim(*ylim)
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("h(x)")
    return save_figure(fig, path)


def function_2(x: Any) -> Any:
    """The book's f(x0, x1) = x0^2 + x1^2."""
    return x[0] ** 2 + x[1] ** 2


def plot_gradient_field(path: str | os.PathLike[str]) -> Path:
    """Arrows of minus the gradient of x0^2 + x1^2 on a grid, as the book's figure 4-9:
    they all point to the minimum at the origin."""
    from nnxp.gradient import numerical_gradient

    x0 = np.arange(-2, 2.5, 0.25)
    x1 = np.arange(-2, 2.5, 0.25)
    X, Y = np.meshgrid(x0, x1)
    points = np.stack([X.ravel(), Y.ravel()], axis=1)
    grad = np.stack([numerical_gradient(function_2, p.copy()) for p in points])
    fig, (ax,) = new_figure(1, 6.4, 6.0)
    ax.quiver(points[:, 0], points[:, 1], -grad[:, 0], -grad[:, 1], angles="xy", color="#666666")
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2, 2)
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.set_title("-grad f(x0, x1), f = x0² + x1²")
    ax.grid(alpha=0.3)
    ax.set_aspect("equal")
    return save_figure(fig, path)


def descent_path(
    f: Callable[[Any], Any], init_x: Any, lr: float = 0.1, step_num: int = 20
) -> np.ndarray:
    """The points gradient descent visits from init_x (step_num + 1 rows, start included)."""
    from nnxp.gradient import numerical_gradient

    x = np.array(init_x, dtype=np.float64)
    path = [x.copy()]
    for _ in range(step_num):
        x = x - lr * numerical_gradient(f, x)
        path.append(x.copy())
    return np.stack(path)


def plot_descent(
    path: str | os.PathLike[str],
    init_x: Sequence[float] = (-3.0, 4.0),
    lr: float = 0.1,
    step_num: int = 20,
) -> Path:
    """The path of gradient descent on x0^2 + x1^2 from (-3, 4), lr 0.1, 20 steps, as the
    book's figure 4-10."""
    points = descent_path(function_2, init_x, lr, step_num)
    fig, (ax,) = new_figure(1, 6.0, 6.4)
    theta = np.linspace(0, 2 * np.pi, 200)
    for r in (1, 2, 3, 4, 5):
        ax.plot(r * np.cos(theta), r * np.sin(theta), color="#dddddd", linewidth=0.8)
    ax.plot([-5, 5], [0, 0], "--b", linewidth=0.8)
    ax.plot([0, 0], [-5, 5], "--b", linewidth=0.8)
    ax.plot(points[:, 0], points[:, 1], "o")
    ax.set_xlim(-3.5, 3.5)
    ax.set_ylim(-4.5, 4.5)
    ax.set_xlabel("X0")
    ax.set_ylabel("X1")
    start = f"({init_x[0]:g}, {init_x[1]:g})"
    ax.set_title(f"gradient descent from {start}, lr {lr:g}, {step_num} steps")
    ax.set_aspect("equal")
    return save_figure(fig, path)
