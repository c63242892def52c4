"""The independent oracles the engine tests compare against: PyTorch float64, and exact checks.

PyTorch is optional: every function that needs it imports it through :func:`torch_or_skip`, so
a test that uses the oracle is skipped (not failed) when torch is not installed.

Two ways to get a PyTorch answer for a microgradnn computation:

- evaluate the same expression in torch (:func:`torch_value_and_grads`, :data:`TORCH_OPS` via
  :func:`torch_apply`), which is independent of how the engine recorded its graph;
- rebuild a recorded Value graph in torch (:func:`rebuild_in_torch`), which also checks that
  ``_prev``, ``_op`` and ``_arg`` describe the computation that was run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any

import pytest

from microgradnn import Value

__all__ = [
    "TORCH_OPS",
    "assert_close",
    "close",
    "rebuild_in_torch",
    "same_float",
    "torch_apply",
    "torch_or_skip",
    "torch_value_and_grads",
    "value_and_grads",
]

Tensor = Any
TorchOp = Callable[[ModuleType, Sequence[Any], Any], Tensor]


def torch_or_skip() -> ModuleType:
    """Import torch, or skip the calling test when it is not installed."""
    return pytest.importorskip("torch", reason="the PyTorch oracle needs torch (extra 'torch')")


def _tensor(torch: ModuleType, x: Any) -> Tensor:
    if isinstance(x, torch.Tensor):
        return x
    return torch.tensor(float(x), dtype=torch.float64)


_step_function: Any = None


def _step(torch: ModuleType, x: Tensor) -> Tensor:
    """Heaviside step with H(0) = 1/2 and derivative 0 (torch.heaviside has no derivative)."""
    global _step_function
    if _step_function is None:

        class Step(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, t: Tensor) -> Tensor:
                return torch.heaviside(t, torch.tensor(0.5, dtype=t.dtype))

            @staticmethod
            def backward(ctx: Any, grad: Tensor) -> Tensor:
                return torch.zeros_like(grad)

        _step_function = Step
    return _step_function.apply(x)


def _softplus(torch: ModuleType, x: Tensor) -> Tensor:
    # F.softplus returns x itself above `threshold` (default 20, an error of e**-20 ~ 2e-9);
    # above 40, log(1 + e**-x) < 5e-18 is below half an ulp of x, so 40 makes it exact.
    return torch.nn.functional.softplus(x, beta=1.0, threshold=40.0)


def _prelu(torch: ModuleType, x: Tensor, alpha: Any) -> Tensor:
    # F.prelu, not torch.where(x > 0, x, a * x): where's backward multiplies the masked branch's
    # zero gradient by x, so d/da at x = inf would come out 0 * inf = nan.
    return torch.nn.functional.prelu(x, _tensor(torch, alpha).reshape(1))


def _sum(torch: ModuleType, xs: Sequence[Any]) -> Tensor:
    # The `* 1.0` gives each input its own gradient tensor. Without it, the leaves' .grad are
    # views of one buffer (unbind of stack's gradient) that AccumulateGrad keeps as is, so a
    # second backward() adds into all of them at once: stack([a, b]).sum() backpropagated twice
    # leaves a.grad = b.grad = 3 (pytorch/pytorch#34082; seen with torch 2.13).
    return torch.stack([_tensor(torch, x) * 1.0 for x in xs]).sum()


def _logsumexp(torch: ModuleType, xs: Sequence[Any]) -> Tensor:
    # torch.logsumexp over a stack of the inputs, with the same `* 1.0` as :func:`_sum` (stack's
    # backward would otherwise hand the leaves views of one gradient buffer).
    return torch.logsumexp(torch.stack([_tensor(torch, x) * 1.0 for x in xs]), dim=0)


TORCH_OPS: dict[str, TorchOp] = {
    "add": lambda torch, xs, arg: xs[0] + xs[1],
    "sub": lambda torch, xs, arg: xs[0] - xs[1],
    "mul": lambda torch, xs, arg: xs[0] * xs[1],
    "div": lambda torch, xs, arg: xs[0] / xs[1],
    "neg": lambda torch, xs, arg: -xs[0],
    "pow": lambda torch, xs, arg: xs[0] ** xs[1],
    "sum": lambda torch, xs, arg: _sum(torch, xs),
    "logsumexp": lambda torch, xs, arg: _logsumexp(torch, xs),
    "exp": lambda torch, xs, arg: torch.exp(xs[0]),
    "log": lambda torch, xs, arg: torch.log(xs[0]),
    "tanh": lambda torch, xs, arg: torch.tanh(xs[0]),
    "sigmoid": lambda torch, xs, arg: torch.sigmoid(xs[0]),
    "softplus": lambda torch, xs, arg: _softplus(torch, xs[0]),
    "relu": lambda torch, xs, arg: torch.relu(xs[0]),
    "leaky_relu": lambda torch, xs, arg: torch.nn.functional.leaky_relu(xs[0], arg),
    "prelu": lambda torch, xs, arg: _prelu(torch, xs[0], xs[1]),
    "abs": lambda torch, xs, arg: torch.abs(xs[0]),
    "step": lambda torch, xs, arg: _step(torch, xs[0]),
    "sign": lambda torch, xs, arg: torch.sign(xs[0]),
    "hard_sigmoid": lambda torch, xs, arg: torch.nn.functional.hardtanh(xs[0] + 0.5, 0.0, 1.0),
}
"""Every op of :data:`microgradnn.OPS`, written with torch's own functions.

Each takes ``(torch, xs, arg)``: ``xs`` are tensors or plain-number constants, in argument
order, and ``arg`` the op's parameter (the leaky slope) or None.
"""


def torch_apply(name: str, xs: Sequence[Any], arg: Any = None) -> Tensor:
    """Apply the torch twin of op ``name`` to tensors (or plain numbers) ``xs``."""
    torch = torch_or_skip()
    return TORCH_OPS[name](torch, xs, arg)


def _leaf(torch: ModuleType, x: float) -> Tensor:
    return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)


def _grads(torch: ModuleType, out: Tensor, leaves: Sequence[Tensor], seed: float) -> list[float]:
    if not out.requires_grad:
        return [0.0] * len(leaves)
    grads = torch.autograd.grad(
        out, list(leaves), grad_outputs=_tensor(torch, seed), allow_unused=True
    )
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
    ``_op`` to its ``_prev`` (constants as plain numbers) with its ``_arg``.

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
            tensors[id(node)] = TORCH_OPS[node._op.name](torch, xs, node._arg)
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
