"""Finite-difference gradient checks that learners can run on their own functions.

The central difference (f(x + h) - f(x - h)) / 2h approximates df/dx with error O(h**2), so
it is an independent oracle for what ``backward()`` computes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from microgradnn._checks import describe, flag, number
from microgradnn.engine import Value, no_grad

__all__ = ["GradcheckError", "GradcheckResult", "gradcheck", "numerical_grad"]

Function = Callable[..., Value]


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when backprop and finite differences disagree."""


@dataclass(frozen=True)
class GradcheckResult:
    """Analytic (backprop) and numerical (central difference) gradients, side by side."""

    analytic: tuple[float, ...]
    numerical: tuple[float, ...]
    ok: tuple[bool, ...]

    def __bool__(self) -> bool:
        return all(self.ok)


def _call(f: Function, xs: Sequence[float]) -> Value:
    out = f(*[Value(x) for x in xs])
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck expects f to return a Value, got {type(out).__name__}: {out!r}")
    return out


def _point(inputs: Sequence[float], who: str) -> list[float]:
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Iterable):
        raise TypeError(f"{who}: inputs: expected a list of numbers, got {describe(inputs)}")
    return [number(f"inputs[{i}]", x, finite=False) for i, x in enumerate(inputs)]


def numerical_grad(f: Function, inputs: Sequence[float], eps: float = 1e-6) -> list[float]:
    """Central-difference estimate of df/dx_i for each input, (f(x+h) - f(x-h)) / 2h.

    Args:
        f: A function of ``len(inputs)`` Values returning a Value.
        inputs: The point at which to differentiate.
        eps: The step h.

    >>> numerical_grad(lambda x: x * x, [3.0])[0]  # d(x^2)/dx = 2x
    6.000000000...
    """
    xs = _point(inputs, "numerical_grad")
    eps = number("eps", eps, low=0.0, low_open=True)
    grads = []
    with no_grad():
        for i in range(len(xs)):
            hi = list(xs)
            lo = list(xs)
            hi[i] += eps
            lo[i] -= eps
            grads.append((_call(f, hi).data - _call(f, lo).data) / (2 * eps))
    return grads


def gradcheck(
    f: Function,
    inputs: Sequence[float],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    raise_exception: bool = True,
) -> GradcheckResult:
    """Compare ``backward()``'s gradients of ``f`` with central differences.

    Each input passes when ``|analytic - numerical| <= atol + rtol * |numerical|``.

    Args:
        f: A function of Values returning a Value, e.g. ``lambda w, b: (w * 2 + b).tanh()``.
        inputs: The point (one float per argument of ``f``).
        eps: Finite-difference step.
        atol: Absolute tolerance.
        rtol: Relative tolerance.
        raise_exception: Raise :class:`GradcheckError` on a mismatch (else just report it).

    Returns:
        A :class:`GradcheckResult`; truthy when every gradient matches.

    >>> bool(gradcheck(lambda w, x: (w * x).sigmoid(), [0.5, -2.0]))
    True
    """
    eps = number("eps", eps, low=0.0, low_open=True)
    atol = number("atol", atol, low=0.0)
    rtol = number("rtol", rtol, low=0.0)
    raise_exception = flag("raise_exception", raise_exception)
    xs = [Value(x) for x in _point(inputs, "gradcheck")]
    out = f(*xs)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck expects f to return a Value, got {type(out).__name__}: {out!r}")
    out.backward()
    analytic = tuple(x.grad for x in xs)
    numerical = tuple(numerical_grad(f, [x.data for x in xs], eps))
    ok = tuple(abs(a - n) <= atol + rtol * abs(n) for a, n in zip(analytic, numerical, strict=True))
    result = GradcheckResult(analytic, numerical, ok)
    if raise_exception and not result:
        rows = "\n".join(
            f"  input {i}: backprop {a:.10g}, finite difference {n:.10g}"
            + ("" if good else "   <- mismatch")
            for i, (a, n, good) in enumerate(zip(analytic, numerical, ok, strict=True))
        )
        raise GradcheckError(f"gradients disagree with finite differences:\n{rows}")
    return result
