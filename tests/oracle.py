"""The independent oracles the engine tests compare against: PyTorch float64, and exact checks.

PyTorch is optional: every function that needs it imports it through :func:`torch_or_skip`, so
a test that uses the oracle is skipped (not failed) when torch is not installed.

Two ways to get a PyTorch answer for a microgradnn computation:

- evaluate the same expression in torch (:func:`torch_value_and_grads`, with each op's torch
  twin from its record in :mod:`tests.op_db`), which is independent of how the engine recorded
  its graph;
- rebuild a recorded Value graph in torch (:func:`rebuild_in_torch`), which also checks that
  ``_prev`` and ``_op`` describe the computation that was run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any

import pytest

from microgradnn import Value
from tests.op_db import OP_DB

__all__ = [
    "assert_close",
    "close",
    "rebuild_in_torch",
    "same_float",
    "torch_mlp_grads",
    "torch_or_skip",
    "torch_value_and_grads",
    "value_and_grads",
]

Tensor = Any


def torch_or_skip() -> ModuleType:
    """Import torch, or skip the calling test when it is not installed."""
    return pytest.importorskip("torch", reason="the PyTorch oracle needs torch (extra 'torch')")


def torch_mlp_grads(net: Any) -> list[float]:
    """The grads of ``model.to_torch()``'s Linear layers, in the model's ``parameters()`` order.

    microgradnn lists each neuron's weights, then its bias; PyTorch keeps a layer's weights as
    one matrix (a row per neuron) and its biases as one vector.
    """
    torch = torch_or_skip()
    grads: list[float] = []
    for layer in net:
        if isinstance(layer, torch.nn.Linear):
            w, b = layer.weight.grad.numpy(), layer.bias.grad.numpy()
            for j in range(w.shape[0]):
                grads.extend([*w[j].tolist(), float(b[j])])
    return grads


def _leaf(torch: ModuleType, x: float) -> Tensor:
    return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)


def _grads(torch: ModuleType, out: Tensor, leaves: Sequence[Tensor], seed: float) -> list[float]:
    if not out.requires_grad:
        return [0.0] * len(leaves)
    seed_tensor = torch.tensor(float(seed), dtype=torch.float64)
    grads = torch.autograd.grad(out, list(leaves), grad_outputs=seed_tensor, allow_unused=True)
    return [0.0 if g is None else g.item() for g in grads]


def torch_value_and_grads(
    fn: Callable[..., Tensor], xs: Sequence[float], seed: float = 1.0
) -> tuple[float, list[float]]:
    """``fn(*leaves)`` in torch float64 and d(fn)/d(leaf) for each input (0.0 where unused)."""
    torch = torch_or_skip()
    leaves = [_leaf(torch, x) for x in xs]
    out = fn(*leaves)
    return out.item(), _grads(torch, out, leaves, seed)


def value_and_grads(
    fn: Callable[..., Value], xs: Sequence[float], seed: float = 1.0
) -> tuple[float, list[float]]:
    """The engine's side of a comparison: ``fn(*leaves).data`` and each leaf's ``grad``."""
    leaves = [Value(x) for x in xs]
    out = fn(*leaves)
    out.backward(seed)
    return out.data, [leaf.grad for leaf in leaves]


def _graph(root: Value) -> list[Value]:
    """Every Value ``root`` depends on, inputs first (the oracle's own iterative sort)."""
    order: list[Value] = []
    state: dict[int, bool] = {}
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            state[id(node)] = True
            order.append(node)
            continue
        if id(node) in state:
            continue
        state[id(node)] = False
        stack.append((node, True))
        stack.extend((p, False) for p in reversed(node._prev) if isinstance(p, Value))
    return order


def rebuild_in_torch(root: Value) -> tuple[Tensor, dict[int, Tensor]]:
    """Replay the recorded graph of ``root`` in torch float64.

    Leaves become tensors with ``requires_grad``; every other node applies the torch twin of its
    ``_op`` (from the op's record) to its ``_prev``, constants as plain numbers.

    Returns:
        The torch root and a map from ``id(value)`` to its tensor, for every node.
    """
    torch = torch_or_skip()
    tensors: dict[int, Tensor] = {}
    for node in _graph(root):
        if node._op is None:
            tensors[id(node)] = _leaf(torch, node.data)
        else:
            xs = [tensors[id(p)] if isinstance(p, Value) else p for p in node._prev]
            tensors[id(node)] = OP_DB[node._op.name].torch(torch, xs)
    return tensors[id(root)], tensors


def same_float(a: float, b: float) -> bool:
    """Bitwise-equal floats, treating every nan as equal to nan (0.0 and -0.0 compare equal)."""
    return (a != a and b != b) or a == b


def close(actual: float, expected: float, rtol: float = 1e-12, atol: float = 0.0) -> bool:
    """``actual`` within ``atol + rtol * |expected|`` of ``expected``; nan and inf must match."""
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    if math.isinf(expected) or math.isinf(actual):
        return actual == expected
    return abs(actual - expected) <= atol + rtol * abs(expected)


def assert_close(
    actual: Iterable[float] | float,
    expected: Iterable[float] | float,
    rtol: float = 1e-12,
    atol: float = 0.0,
    what: str = "",
) -> None:
    """Assert :func:`close` elementwise, with a message that shows both sides."""
    xs = [actual] if isinstance(actual, (int, float)) else list(actual)
    ys = [expected] if isinstance(expected, (int, float)) else list(expected)
    assert len(xs) == len(ys), f"{what}: got {len(xs)} numbers, expected {len(ys)}"
    bad = [
        (i, x, y)
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
        if not close(x, y, rtol, atol)
    ]
    assert not bad, f"{what}: (index, got, expected) {bad} (rtol={rtol}, atol={atol})"
