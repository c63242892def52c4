"""Activations, weight initialization and seeding: the choices a neuron is built with.

:data:`ACTIVATIONS` is the one table of activation names. Each row says which op of the op
table the activation applies, its formula, which initialization suits it (He for the ReLU family,
Xavier/Glorot for tanh and sigmoid, micrograd's uniform otherwise), its PyTorch module and
whether its units can die (output 0 with gradient 0 for every input, as a ReLU can).

>>> from microgradnn import Value
>>> get_activation("tanh")(Value(0.5)).data == Value(0.5).tanh().data
True
>>> ACTIVATIONS["relu"].init
'he'
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, Union

from microgradnn._checks import describe, number
from microgradnn.engine import Value
from microgradnn.module import Module
from microgradnn.ops import OPS

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "Activation",
    "ActivationInfo",
    "PReLU",
    "RandomSource",
    "Seed",
    "activation_info",
    "describe_activation",
    "draw_weights",
    "get_activation",
    "identity",
    "init_name",
    "random_source",
    "rng",
]

Activation = Callable[[Value], Value]
"""An activation: any function from one Value (the neuron's z) to one Value (its output a)."""

Seed = Union[int, random.Random, None]


class RandomSource(Protocol):
    """What initialization and dropout draw from: a ``random.Random`` or the ``random`` module."""

    def uniform(self, a: float, b: float) -> float:
        """A number drawn uniformly from [a, b]."""

    def gauss(self, mu: float, sigma: float) -> float:
        """A number drawn from the normal distribution N(mu, sigma**2)."""

    def random(self) -> float:
        """A number drawn uniformly from [0, 1)."""

    def getrandbits(self, k: int, /) -> int:
        """An int of k random bits."""


def random_source(seed: Seed) -> random.Random | None:
    """A ``random.Random`` for an int seed; a Random or None (the global generator) as is."""
    if seed is None or isinstance(seed, random.Random):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed: expected an int, a random.Random or None, got {describe(seed)}")
    return random.Random(int(seed))


def rng(seed: Seed) -> RandomSource:
    """What to draw from for ``seed``: None draws from the global ``random`` module.

    So ``random.seed(1337)`` before building a model reproduces it, as in micrograd.
    """
    source = random_source(seed)
    return random if source is None else source


# -- the activation table -----------------------------------------------------------------------


def identity(z: Value) -> Value:
    """The linear (identity) activation: a = z; da/dz = 1. Adds no node to the graph."""
    return z


class PReLU(Module):
    """Parametric ReLU: a = z if z > 0 else alpha * z, with the slope alpha learned.

    d a / d alpha = z where z <= 0, else 0 (the lecture's "s if alpha s > s"). alpha starts at
    0.25, as in ``torch.nn.PReLU``. With ``activation="prelu"`` every neuron gets its own
    PReLU (the lecture's alpha_j^(l); ``torch.nn.PReLU(num_parameters=n)``); pass one PReLU
    object as a layer's activation to share one slope (``torch.nn.PReLU()``).

    Args:
        init: The slope's starting value.

    >>> act = PReLU()
    >>> a = act(Value(-2.0)); a.backward()
    >>> a.data, act.alpha.grad
    (-0.5, -2.0)
    """

    alpha: Value

    def __init__(self, init: float = 0.25) -> None:
        self.alpha = Value(number("PReLU init", init), label="α")

    def __call__(self, z: Value) -> Value:
        """The output: z where z > 0, alpha * z elsewhere."""
        return z.prelu(self.alpha)

    def __repr__(self) -> str:
        return f"PReLU(alpha={self.alpha.data:.6g})"


@dataclass(frozen=True)
class ActivationInfo:
    """One activation: everything the package knows about it, in one row.

    Attributes:
        name: Its name in ``MLP(activation=...)``, configs and the command line.
        formula: a as a function of z, for learners.
        op: The op of the op table it applies (None: linear, or a module such as PReLU).
        init: The weight initialization ``init=None`` picks for it.
        torch: The ``torch.nn`` module class name, or None to wrap the op's PyTorch twin.
        can_die: A unit can get stuck at output 0 with gradient 0 for every input.
    """

    name: str
    formula: str
    op: str | None = None
    init: str = "uniform"
    torch: str | None = None
    can_die: bool = False

    def function(self) -> Activation:
        """The function z -> a (a new :class:`PReLU`, with its own slope, for ``"prelu"``)."""
        if self.name == "prelu":
            return PReLU()
        return _FUNCTIONS[self.name]


_ROWS = [
    ActivationInfo("linear", "z"),
    ActivationInfo("step", "1 if z > 0, 0.5 at 0, else 0 (passes no gradient)", "step"),
    ActivationInfo("sign", "-1, 0 or 1 (passes no gradient)", "sign"),
    ActivationInfo("hard_sigmoid", "0 below -1/2, z + 1/2 between, 1 above 1/2", "hard_sigmoid"),
    ActivationInfo("sigmoid", "1 / (1 + e**-z)", "sigmoid", "xavier", "Sigmoid"),
    ActivationInfo("tanh", "tanh(z)", "tanh", "xavier", "Tanh"),
    ActivationInfo("relu", "max(0, z)", "relu", "he", "ReLU", can_die=True),
    ActivationInfo("leaky_relu", "max(z, 0.01 z)", "leaky_relu", "he", "LeakyReLU"),
    ActivationInfo(
        "prelu", "max(z, alpha z), alpha learned per neuron (starts at 0.25)", "prelu", "he"
    ),
]

ACTIVATIONS: dict[str, ActivationInfo] = {row.name: row for row in _ROWS}
"""Every activation by name (see :class:`ActivationInfo`); ``identity`` and ``logistic`` are
accepted as aliases of ``linear`` and ``sigmoid``."""

_ALIASES = {"identity": "linear", "logistic": "sigmoid"}


def _op_function(op: str) -> Activation:
    method = OPS[op].method
    fn: Activation = getattr(Value, str(method))
    return fn


_FUNCTIONS: dict[str, Activation] = {
    row.name: identity if row.op is None else _op_function(row.op)
    for row in _ROWS
    if row.name != "prelu"
}


def activation_info(name: str) -> ActivationInfo:
    """The row of an activation name (case and '-' vs '_' do not matter).

    Raises:
        ValueError: Unknown name; the message lists the known ones.
    """
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in ACTIVATIONS:
        raise ValueError(
            f"activation: expected one of {', '.join(ACTIVATIONS)} (or a function from Value "
            f"to Value), got {name!r}"
        )
    return ACTIVATIONS[key]


def describe_activation(spec: str | Activation) -> str:
    """How configs and reprs name an activation: its name, or ``custom:<function name>``."""
    if isinstance(spec, str):
        return activation_info(spec).name
    if not callable(spec):
        raise TypeError(
            f"activation: expected a name ({', '.join(ACTIVATIONS)}) or a function from Value "
            f"to Value, got {describe(spec)}"
        )
    for name, fn in _FUNCTIONS.items():
        if spec is fn:
            return name
    return "custom:" + getattr(spec, "__qualname__", type(spec).__name__)


def get_activation(activation: str | Activation) -> Activation:
    """The activation function for a name (see :data:`ACTIVATIONS`), or a callable as is.

    ``"prelu"`` gives a new :class:`PReLU` each call (its own learnable slope).

    >>> get_activation("relu6")
    Traceback (most recent call last):
    ...
    ValueError: activation: expected one of linear, step, ..., got 'relu6'
    """
    if isinstance(activation, str):
        return activation_info(activation).function()
    if callable(activation):
        return activation
    raise TypeError(
        f"activation: expected a name ({', '.join(ACTIVATIONS)}) or a function from Value to "
        f"Value, got {describe(activation)}"
    )


# -- initialization -------------------------------------------------------------------------------

INITS: dict[str, str] = {
    "uniform": "w ~ U(-1, 1), b = 0 (micrograd's choice)",
    "xavier": "Glorot uniform: w ~ U(-r, r), r = sqrt(6 / (fan_in + fan_out)), b = 0",
    "he": "Kaiming normal: w ~ N(0, sqrt(2 / fan_in)**2), b = 0",
    "torch": "torch.nn.Linear's default: w, b ~ U(-r, r), r = 1 / sqrt(fan_in)",
}
"""Every weight initialization name, with its distribution."""

_INIT_ALIASES = {"glorot": "xavier", "kaiming": "he", "micrograd": "uniform"}


def init_name(init: str | None, activation: str) -> str:
    """The canonical init name; None picks the activation's own (see :class:`ActivationInfo`)."""
    if init is None:
        row = ACTIVATIONS.get(activation)
        return row.init if row is not None else "uniform"
    if not isinstance(init, str):
        raise TypeError(f"init: expected a name ({', '.join(INITS)}) or None, got {describe(init)}")
    key = init.strip().lower()
    key = _INIT_ALIASES.get(key, key)
    if key not in INITS:
        raise ValueError(f"init: expected one of {', '.join(INITS)} (or None), got {init!r}")
    return key


def draw_weights(
    source: RandomSource, init: str, fan_in: int, fan_out: int, bias: bool
) -> tuple[list[float], float]:
    """One neuron's initial weights and bias, drawn in order w_0, ..., w_(n-1)[, b]."""
    if init == "he":
        std = math.sqrt(2.0 / fan_in)
        return [source.gauss(0.0, std) for _ in range(fan_in)], 0.0
    if init == "uniform":
        r = 1.0
    elif init == "xavier":
        r = math.sqrt(6.0 / (fan_in + fan_out))
    else:
        r = 1.0 / math.sqrt(fan_in)
    ws = [source.uniform(-r, r) for _ in range(fan_in)]
    b = source.uniform(-r, r) if init == "torch" and bias else 0.0
    return ws, b
