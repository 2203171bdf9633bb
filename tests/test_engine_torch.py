"""The engine's gradients against torch autograd in float64.

Each loss of test_engine_cases.LOSSES is written here again as torch code, per
example. Batched losses run that code over the examples with torch.func.vmap and
take the mean; per-example gradients are compared with vmap(grad(...)). Points are
random (seeded) and away from kinks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from test_engine_cases import BATCHED, UNBATCHED, B, Loss, close

from gdcli.engine import lower

torch = pytest.importorskip("torch")
t = torch

REL = 1e-12

# the losses as torch code: weights then inputs, one example
TORCH: dict[str, Callable[..., Any]] = {
    "linear": lambda W, x, y: ((W @ x - y) ** 2).sum(),
    "two-layer": lambda W1, b1, W2, b2, x, y: (
        (t.tanh(W2 @ t.tanh(W1 @ x + b1) + b2) - y) ** 2
    ).mean(),
    "sigmoid": lambda W, b, x, y: ((t.sigmoid(W @ x + b) - y) ** 2).sum(),
    "relu-max": lambda W, b, v, x, y: (t.dot(v, t.clamp(W @ x + b, min=0)) - y) ** 2,
    "relu": lambda W, b, v, x, y: (t.dot(v, t.relu(W @ x + b)) - y) ** 2,
    "softmax-cross-entropy": lambda W, x, y: -(y * t.log(t.softmax(W @ x, dim=-1))).sum(),
    "logsumexp": lambda W, x, y: t.logsumexp(W @ x, dim=-1) - t.dot(y, W @ x),
    "scalar-times-matrix": lambda a, W, X, Y, c: ((a * X - Y) ** 2).sum() + (W * c).mean(),
    "vector-plus-matrix-rows": lambda b, q, M, C, P: (
        (t.tanh(M + b) * C).sum() + ((P - t.tensor([1.0, 2.0], dtype=t.float64) * q) ** 2).sum()
    ),
    "column-broadcast": lambda c, A, C: ((A + c) ** 2 * C).sum(),
    "outer": lambda u, v, M: ((t.outer(u, v) - M) ** 2).sum(),
    "transpose-matmul": lambda W, x, y, A: (
        ((W.T @ y - x) ** 2).sum() + ((A @ W.T) ** 2).sum() + (y @ W).sum()
    ),
    "matrix-product": lambda U, V: t.tanh(U @ V).sum(),
    "dot-linear-regression": lambda w, c, x, y: (t.dot(w, x) + c - y) ** 2,
    "max-of-vector": lambda W, v, x: t.max(W @ x) - t.min(v) + t.max(3 * v),
    "abs": lambda W, x, y: t.abs(W @ x - y).sum(),
    "powers": lambda u, w: (u**3).sum() + 2**w + w**w + (u**-1).sum() + w ** (1 / 3) + (w**u).sum(),
    "log-base": lambda u, c, w: (
        (t.log(u) / math.log(2)).sum() + math.log(5) / t.log(c) + t.log(w) / t.log(c)
    ),
    "functions": lambda u, v: (
        (
            t.sin(u)
            + t.cos(u)
            + t.tan(u)
            + t.asin(u)
            + t.acos(u)
            + t.atan(u)
            + t.sinh(u)
            + t.cosh(u)
        ).sum()
        + (t.exp(v) + 2 * t.log(v) + t.sqrt(v) + t.nn.functional.softplus(u) + t.sigmoid(-u)).sum()
    ),
    "elementwise-max-min": lambda u, v: (
        t.maximum(t.maximum(u, v), 0.5 * u + 1) - t.minimum(u, 2 * v)
    ).sum(),
    "division": lambda u, v, w: (u / (v**2 + 3)).sum() + w / (1 + w**2),
    "indicators": lambda u: (
        (u > 0).double() * u**2
        + (u <= 0.1).double() * u
        + (u > 0).double() * u
        + t.sign(u) * u**3
        + (u > 0).double()
    ).sum(),
    "list-of-expressions": lambda w, c, x, z: (
        (t.stack([w, 2 * w, w**2]) * x).sum() + t.dot(t.stack([c, -c]), z)
    ),
    "list-of-vectors": lambda u, v: (
        (t.stack([u, 2 * u]) @ v).sum()
        + (t.stack([u, v]).T @ t.tensor([1.0, -1.0], dtype=t.float64)).sum()
    ),
    "constants": lambda W, w, x: (
        ((W @ x - t.tensor([1.0, -2.0, 0.5], dtype=t.float64)) ** 2).sum()
        + math.pi * w**2
        + math.e * w
        + 1e-3 * w**4
    ),
    "shared-subexpression": lambda W, x: (
        (t.tanh(W @ x) * t.tanh(W @ x)).sum() + (W * W).sum() - (W - W).sum()
    ),
    "batched-matrix-input": lambda w, v, X, z: (
        ((X.T @ w - z) ** 2).sum() + (X * t.outer(v, z)).sum() + (t.outer(w, z).T @ X).sum()
    ),
    "per-example-scalar": lambda v, W, a, tt, u: (
        ((a * v - tt) ** 2).sum() + a * v.sum() + (W @ (a * u)).mean()
    ),
    "weights-times-weights": lambda W1, W2, c, x, y: (
        ((W2 @ W1 @ x - y) ** 2).sum() + t.dot(x, W1.T @ c)
    ),
    "batched-matmul-both-sides": lambda w, X, Y: (
        t.tanh(X @ Y).sum() + (X @ w).sum() + t.dot(w, X.T @ w)
    ),
    "broadcast-counts": lambda w, v, c, x, M: (
        (w + x).sum() + (v + M).sum() + (c + M).sum() + (w * M + x * v).mean()
    ),
}


def tensors(values: dict[str, Any], names: list[str], grad: set[str]) -> list[Any]:
    return [torch.tensor(values[n], dtype=torch.float64, requires_grad=n in grad) for n in names]


def test_every_loss_has_its_torch_version() -> None:
    assert {c.id for c in UNBATCHED + BATCHED} == set(TORCH)


@pytest.mark.parametrize("case", UNBATCHED, ids=[c.id for c in UNBATCHED])
def test_gradient_equals_torch(case: Loss) -> None:
    graph = lower(case.text, case.weights, case.inputs)
    rng = case.rng()
    for _ in range(3):
        values = case.values(rng)
        loss, grads = graph.value_and_grad(values)
        names = [*case.weights, *case.inputs]
        args = tensors(values, names, set(case.weights))
        expected = TORCH[case.id](*args)
        torch_grads = torch.autograd.grad(expected, args[: len(case.weights)], allow_unused=True)
        close(loss, expected.item(), REL)
        for w, tg in zip(case.weights, torch_grads, strict=True):
            shape = case.weights[w]
            assert np.shape(grads[w]) == shape
            close(grads[w], np.zeros(shape) if tg is None else tg.detach().numpy(), REL)


@pytest.mark.parametrize("case", BATCHED, ids=[c.id for c in BATCHED])
def test_batched_gradient_equals_torch(case: Loss) -> None:
    """The loss is the mean over B examples; torch runs the per-example code under vmap."""
    from torch.func import grad, vmap

    f = TORCH[case.id]
    graph = lower(case.text, case.weights, case.inputs, batched=True)
    values = case.values(case.rng(1), B)
    names = [*case.weights, *case.inputs]
    args = tensors(values, names, set(case.weights))
    dims = tuple([None] * len(case.weights) + [0] * len(case.inputs))

    losses = vmap(f, in_dims=dims)(*args)
    expected = losses.mean()
    torch_grads = torch.autograd.grad(expected, args[: len(case.weights)], allow_unused=True)
    loss, grads = graph.value_and_grad(values)
    close(loss, expected.item(), REL)
    for w, tg in zip(case.weights, torch_grads, strict=True):
        close(grads[w], np.zeros(case.weights[w]) if tg is None else tg.detach().numpy(), REL)

    # per example: one gradient per example, their mean the full gradient
    per_losses, per_grads = graph.per_example(values)
    close(per_losses, losses.detach().numpy(), REL)
    detached = [a.detach() for a in args]
    argnums = tuple(range(len(case.weights)))
    per_torch = vmap(grad(f, argnums=argnums), in_dims=dims)(*detached)
    for k, w in enumerate(case.weights):
        assert per_grads[w].shape == (B, *case.weights[w])
        close(per_grads[w], per_torch[k].numpy(), REL)
        close(per_grads[w].mean(axis=0), grads[w], REL)


def test_batches_of_other_sizes_reuse_the_graph() -> None:
    """One graph, batches of any size (the last mini-batch of an epoch is smaller)."""
    graph = lower(
        "(dot(w, x) + b - y)**2", {"w": (3,), "b": ()}, {"x": (3,), "y": ()}, batched=True
    )
    rng = np.random.default_rng(5)
    w, b = rng.normal(size=3), 0.3
    for size in (1, 2, 7, 50):
        x, y = rng.normal(size=(size, 3)), rng.normal(size=size)
        loss, grads = graph.value_and_grad({"w": w, "b": b, "x": x, "y": y})
        r = x @ w + b - y
        close(loss, np.mean(r**2), REL)
        close(grads["w"], 2 * (r @ x) / size, REL)
        close(grads["b"], 2 * np.mean(r), REL)
