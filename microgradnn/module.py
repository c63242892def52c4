"""Module: what every model has, in PyTorch's words.

``parameters()``, ``named_parameters()``, ``named_modules()``, ``zero_grad()``,
``train()``/``eval()``, ``state_dict()``/``load_state_dict()`` and ``save()``/``load()``.

A module finds its parameters and sub-modules by looking at its attributes: a public attribute
that is a :class:`~microgradnn.Value` is a parameter, one that is a :class:`Module` is a
sub-module, and lists, tuples and dicts of them (nested as deep as you like: a weight matrix as a
list of lists of Values) count item by item. So a module you write yourself needs no
registration::

    class Affine(Module):
        def __init__(self):
            self.W = [[Value(1.0), Value(0.0)], [Value(0.0), Value(1.0)]]
            self.b = {"x": Value(0.0), "y": Value(0.0)}

>>> from microgradnn import Value
>>> class Affine(Module):
...     def __init__(self):
...         self.W = [[Value(1.0), Value(0.0)], [Value(0.0), Value(1.0)]]
...         self.b = {"x": Value(0.0), "y": Value(0.0)}
>>> [name for name, _ in Affine().named_parameters()]
['W.0.0', 'W.0.1', 'W.1.0', 'W.1.1', 'b.x', 'b.y']
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

from microgradnn._checks import describe, flag
from microgradnn.engine import Value, all_values

__all__ = ["IncompatibleKeys", "Module", "eval_mode", "io_sizes"]

M = TypeVar("M", bound="Module")


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` could not match (as PyTorch's result)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _members(module: Module, values: bool = True) -> Iterator[tuple[str, Value | Module]]:
    """Every Value and Module one level down in ``module``'s public attributes, by dotted path.

    Containers (lists, tuples, dicts) are opened as deep as they nest, with an explicit stack:
    no recursion, and no closure that could keep the walk alive. Without ``values`` only the
    modules come out (a container of Values only is not opened).
    """
    stack: list[tuple[str, Any]] = [
        (key, value) for key, value in reversed(vars(module).items()) if key[:1] != "_"
    ]
    while stack:
        path, value = stack.pop()
        if type(value) is Value:
            if values:
                yield path, value
        elif isinstance(value, Module):
            yield path, value
        elif isinstance(value, (list, tuple, dict)):
            items = value.values() if isinstance(value, dict) else value
            if not values and all_values(items):
                continue
            if isinstance(value, dict):
                stack.extend((f"{path}.{k}", v) for k, v in reversed(list(value.items())))
            else:
                stack.extend((f"{path}.{i}", v) for i, v in reversed(list(enumerate(value))))


def _values(module: Module) -> list[Value]:
    """The Values that :func:`_members` finds in ``module``, in its order, without names.

    A list of Values only (a neuron's weights) is taken whole: ``parameters()`` of a digits
    MLP does not visit its thousands of weights one by one.
    """
    out: list[Value] = []
    stack: list[Any] = [value for key, value in reversed(vars(module).items()) if key[:1] != "_"]
    while stack:
        value = stack.pop()
        if type(value) is Value:
            out.append(value)
        elif isinstance(value, (list, tuple, dict)) and not isinstance(value, Module):
            items = value.values() if isinstance(value, dict) else value
            if all_values(items):
                out.extend(items)
            else:
                stack.extend(reversed(list(items)))
    return out


class Module:
    """Base class of every model: finds its parameters and sub-modules by attribute.

    Names are dotted paths in attribute order (``layers.0.neurons.3.w.1``); a Value or module
    reachable twice is listed once, under its first name. Attributes starting with ``_`` are
    private and never scanned.

    Attributes:
        name: This module's dotted path in the model that holds it ("" at the top); set when
            the module is assigned to an attribute of its parent.
        training: True in training mode (dropout active), False after :meth:`eval`.
    """

    name: str = ""
    training: bool = True

    def __setattr__(self, key: str, value: Any) -> None:
        object.__setattr__(self, key, value)
        if key[:1] != "_" and _holds_module(value):
            base = self.name
            for path, module in self.named_modules():
                if module is not self:
                    module.name = f"{base}.{path}" if base else path

    def named_modules(self) -> list[tuple[str, Module]]:
        """This module ("") and every sub-module, each once, with its dotted path."""
        out: list[tuple[str, Module]] = []
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:
            path, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            out.append((path, module))
            children = [
                (f"{path}.{key}" if path else key, m)
                for key, m in _members(module, values=False)
                if isinstance(m, Module)
            ]
            stack.extend(reversed(children))
        return out

    def modules(self) -> list[Module]:
        """This module and every sub-module, each once."""
        return [m for _, m in self.named_modules()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Every parameter with its stable dotted name, e.g. ``layers.0.neurons.3.w.1``."""
        out: list[tuple[str, Value]] = []
        seen: set[int] = set()
        for path, module in self.named_modules():
            for key, member in _members(module):
                if type(member) is Value and id(member) not in seen:
                    seen.add(id(member))
                    out.append((f"{path}.{key}" if path else key, member))
        return out

    def parameters(self) -> list[Value]:
        """Every parameter (weights, biases, PReLU slopes), in a stable order, each once."""
        found: list[Value] = []
        for _, module in self.named_modules():
            found += _values(module)
        return list(dict.fromkeys(found))  # each once, where first found (identity: no __eq__)

    def num_parameters(self) -> int:
        """How many numbers the model learns."""
        return len(self.parameters())

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0, before the next ``backward()``.

        Gradients accumulate across ``backward()`` calls, so a training step starts here.
        PyTorch's ``zero_grad()`` sets them to ``None`` instead; here they stay floats, as the
        lectures draw them.
        """
        for p in self.parameters():
            p.grad = 0.0

    def train(self: M, mode: bool = True) -> M:
        """Switch this module and its sub-modules to training mode (or evaluation if False)."""
        mode = flag("mode", mode)
        for module in self.modules():
            module.training = mode
        return self

    def eval(self: M) -> M:
        """Switch to evaluation mode: dropout passes its inputs through unchanged."""
        return self.train(False)

    def config(self) -> dict[str, Any]:
        """The architecture as JSON-ready data (what :meth:`save` stores besides the numbers)."""
        return {"type": type(self).__name__}

    def __repr__(self) -> str:
        config = self.config()
        args = ", ".join(f"{k}={v!r}" for k, v in config.items() if k != "type")
        return f"{config.get('type', type(self).__name__)}({args})"

    def state_dict(self) -> dict[str, float]:
        """Every parameter's number by name, in :meth:`named_parameters` order."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, float], strict: bool = True) -> IncompatibleKeys:
        """Set the parameters' numbers from ``state`` (as made by :meth:`state_dict`).

        Nothing changes unless every value is valid.

        Args:
            state: Parameter name -> number.
            strict: Require exactly this model's names (else load those that match).

        Returns:
            The names missing from ``state`` and those ``state`` has in excess.

        Raises:
            ValueError: With ``strict``, names differ (the message lists them); or a value is
                not a number.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"state: expected a dict of name -> number, got {describe(state)}")
        strict = flag("strict", strict)
        params = dict(self.named_parameters())
        missing = [k for k in params if k not in state]
        unexpected = [str(k) for k in state if k not in params]
        if strict and (missing or unexpected):
            problems = [_listing(missing, "missing"), _listing(unexpected, "unexpected")]
            raise ValueError(
                f"state does not match {self!r}: {'; '.join(p for p in problems if p)}"
            )
        values: dict[str, float] = {}
        for key in params:
            if key in state:
                v = state[key]
                if isinstance(v, bool) or not isinstance(v, numbers.Real):
                    raise ValueError(f"{key}: expected a number, got {describe(v)}")
                values[key] = float(v)
        for key, v in values.items():
            params[key].data = v
        return IncompatibleKeys(missing, unexpected)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the architecture and every parameter to ``path`` (JSON, written atomically).

        See :func:`microgradnn.serialization.save` for the file format.
        """
        from microgradnn import serialization

        serialization.save(self, path)

    def load(self, path: str | os.PathLike[str], strict: bool = True) -> None:
        """Load the parameters saved in ``path`` into this model.

        Args:
            path: A file written by :meth:`save`.
            strict: Require the same architecture and parameter names (else load what
                matches by name).

        Raises:
            ValueError: The file is not a microgradnn model (corrupt or truncated JSON too),
                or it holds another architecture; the message names the mismatch.
        """
        from microgradnn import serialization

        serialization.load_into(self, path, strict=strict)


def _holds_module(value: Any) -> bool:
    """Whether ``value`` is a Module or a container with a Module somewhere inside."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, Module):
            return True
        if isinstance(v, (list, tuple)):
            if not all_values(v):  # a neuron's weights: nothing inside
                stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
    return False


def _listing(keys: list[str], what: str) -> str:
    if not keys:
        return ""
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    return f"{', '.join(keys[:3])}{more} {what}"


@contextmanager
def eval_mode(model: Any) -> Iterator[None]:
    """Evaluation mode for a ``with`` block, then the model's previous mode again.

    Works on any object with ``training``, ``train()`` and ``eval()`` (other objects pass through
    untouched), so prediction, evaluation, tracing and plots all switch the same way.

    >>> from microgradnn.nn import MLP
    >>> model = MLP(2, [1], dropout=0.0, seed=0)
    >>> with eval_mode(model):
    ...     model.training
    False
    >>> model.training
    True
    """
    if not (hasattr(model, "training") and hasattr(model, "eval") and hasattr(model, "train")):
        yield
        return
    was_training = bool(model.training)
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def io_sizes(model: Any) -> tuple[int | None, int | None]:
    """The model's numbers of inputs and outputs, where it says (``nin`` and ``nout``).

    >>> from microgradnn.nn import MLP, Neuron
    >>> io_sizes(MLP(2, [4, 3], seed=0)), io_sizes(Neuron(5))
    ((2, 3), (5, 1))
    """
    nin = getattr(model, "nin", None)
    nout = getattr(model, "nout", None)
    ok = (int,)
    return (
        nin if isinstance(nin, ok) and not isinstance(nin, bool) else None,
        nout if isinstance(nout, ok) and not isinstance(nout, bool) else None,
    )
