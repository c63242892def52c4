"""Neural networks from Values: Module, Neuron, Layer, MLP, activations, PReLU and Dropout.

The lectures' model, one piece per class: a :class:`Neuron` computes z = w . x + b and
a = sigma(z); a :class:`Layer` is a list of neurons reading the same inputs; an :class:`MLP`
stacks layers, a^l = sigma(W^l a^(l-1) + b^l). Every weight and bias is a :class:`Value`, so
``loss.backward()`` fills each parameter's ``grad``.

:class:`Module` gives every model the PyTorch vocabulary: ``parameters()``,
``named_parameters()``, ``zero_grad()``, ``train()``/``eval()``, ``state_dict()`` and
``save()``/``load()`` (plain JSON, written atomically).

>>> model = MLP(2, [4, 1], activation="tanh", seed=0)
>>> model
MLP(2, [4, 1], activation='tanh')
>>> y = model([1.0, -2.0])
>>> y.backward()
>>> model.num_parameters(), model.named_parameters()[0][0]
(17, 'layers.0.neurons.0.w.0')
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import random
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar, Union

import numpy as np

from microgradnn.engine import Value, describe, no_grad

if TYPE_CHECKING:
    import torch

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "MLP",
    "Activation",
    "Dropout",
    "IncompatibleKeys",
    "Layer",
    "Module",
    "Neuron",
    "PReLU",
    "get_activation",
    "load_model",
    "log_softmax",
    "logsumexp",
    "softmax",
]

Operand = Union[Value, float]
Activation = Callable[[Value], Value]
"""An activation: any function from one Value (the neuron's z) to one Value (its output a)."""

Seed = Union[int, random.Random, None]
M = TypeVar("M", bound="Module")

_FILE_FORMAT = "microgradnn"
_FILE_VERSION = 1
_TORCH_HINT = "pip install 'microgradnn[torch]'"


class _RandomSource(Protocol):
    """What initialization and dropout draw from: a ``random.Random`` or the ``random`` module."""

    def uniform(self, a: float, b: float) -> float: ...

    def gauss(self, mu: float, sigma: float) -> float: ...

    def random(self) -> float: ...

    def getrandbits(self, k: int, /) -> int: ...


def _source(seed: Seed) -> random.Random | None:
    """A ``random.Random`` for an int seed; a Random or None (the global generator) as is."""
    if seed is None or isinstance(seed, random.Random):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, a random.Random or None, got {describe(seed)}")
    return random.Random(int(seed))


def _rng(seed: Seed) -> _RandomSource:
    """What to draw from for ``seed``: None draws from the global ``random`` module.

    So ``random.seed(1337)`` before building a model reproduces it, as in micrograd.
    """
    source = _source(seed)
    return random if source is None else source


def _positive_int(x: object, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{what} must be a positive int, got {describe(x)}")
    if x < 1:
        raise ValueError(f"{what} must be a positive int, got {x}")
    return int(x)


# -- activations -----------------------------------------------------------------------------------


def identity(z: Value) -> Value:
    """The linear (identity) activation: a = z; da/dz = 1. Adds no node to the graph."""
    return z


_FUNCTIONS: dict[str, Activation] = {
    "linear": identity,
    "step": Value.step,
    "sign": Value.sign,
    "hard_sigmoid": Value.hard_sigmoid,
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "relu": Value.relu,
    "leaky_relu": Value.leaky_relu,
}

ACTIVATIONS: dict[str, str] = {
    "identity": "z (same as 'linear')",
    "linear": "z",
    "step": "1 if z > 0, 0.5 at 0, else 0 (passes no gradient)",
    "sign": "-1, 0 or 1 (passes no gradient)",
    "hard_sigmoid": "0 below -1/2, z + 1/2 between, 1 above 1/2",
    "sigmoid": "1 / (1 + e**-z)",
    "tanh": "tanh(z)",
    "relu": "max(0, z)",
    "leaky_relu": "max(z, 0.01 z)",
    "prelu": "max(z, alpha z), alpha learned per neuron (starts at 0.25)",
}
"""Every activation name :func:`get_activation` knows, with its formula."""

_ALIASES = {"identity": "linear", "logistic": "sigmoid"}
_HE_FAMILY = ("relu", "leaky_relu", "prelu")
_XAVIER_FAMILY = ("tanh", "sigmoid")


def _activation_name(name: str) -> str:
    """The canonical name of an activation name (case and '-' vs '_' do not matter)."""
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}"
            " (or pass a function from Value to Value)"
        )
    return key


def _describe_activation(spec: str | Activation) -> str:
    """How configs and reprs name an activation: its name, or ``custom:<function name>``."""
    if isinstance(spec, str):
        return _activation_name(spec)
    for name, fn in _FUNCTIONS.items():
        if spec is fn:
            return name
    return "custom:" + getattr(spec, "__qualname__", type(spec).__name__)


def get_activation(activation: str | Activation) -> Activation:
    """The activation function for a name (see :data:`ACTIVATIONS`), or a callable as is.

    ``"prelu"`` gives a new :class:`PReLU` each call (its own learnable slope).

    >>> get_activation("tanh")(Value(0.5)).data == Value(0.5).tanh().data
    True
    >>> get_activation("relu6")
    Traceback (most recent call last):
    ...
    ValueError: unknown activation 'relu6'; choose one of: identity, linear, ...
    """
    if isinstance(activation, str):
        name = _activation_name(activation)
        return PReLU() if name == "prelu" else _FUNCTIONS[name]
    if callable(activation):
        return activation
    raise TypeError(
        f"activation must be a name ({', '.join(ACTIVATIONS)}) or a function from Value to "
        f"Value, got {describe(activation)}"
    )


def logsumexp(values: Sequence[Operand]) -> Value:
    """log(sum_i e**x_i) as one stable node (:meth:`Value.logsumexp`); its gradient is softmax(x).

    >>> round(logsumexp([Value(1000.0), Value(1000.0)]).data, 6)  # 1000 + log 2
    1000.693147
    """
    return Value.logsumexp(_operands(values, "logsumexp"))


def log_softmax(values: Sequence[Operand]) -> list[Value]:
    """Log-probabilities: log softmax(x)_i = x_i - logsumexp(x), computed stably.

    >>> [round(v.data, 6) for v in log_softmax([Value(0.0), Value(0.0)])]
    [-0.693147, -0.693147]
    """
    xs = _operands(values, "log_softmax")
    lse = logsumexp(xs)
    return [v - lse for v in xs]


def softmax(values: Sequence[Operand]) -> list[Value]:
    """Probabilities e**x_i / sum_j e**x_j, computed as e**(x_i - logsumexp(x)).

    Every exponent is <= 0, so nothing overflows, even for logits of 1000.
    For two classes it is the sigmoid: softmax([x, 0]) = [sigmoid(x), 1 - sigmoid(x)].

    >>> [round(p.data, 4) for p in softmax([Value(2.0), Value(0.0)])]
    [0.8808, 0.1192]
    """
    xs = _operands(values, "softmax")
    lse = Value.logsumexp(xs)
    return [(v - lse).exp() for v in xs]


def _operands(values: Iterable[Operand], what: str) -> list[Value]:
    """The items as Values (numbers become constant leaves)."""
    if isinstance(values, (Value, str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what} expects a list of Values or numbers, got {describe(values)}")
    xs: list[Value] = []
    for i, v in enumerate(values):
        if type(v) is Value:
            xs.append(v)
        elif isinstance(v, numbers.Real) and not isinstance(v, bool):
            xs.append(Value(float(v)))
        else:
            raise TypeError(f"{what}: item {i} must be a Value or a number, got {describe(v)}")
    if not xs:
        raise ValueError(f"{what} needs at least one value, got an empty list")
    return xs


# -- initialization --------------------------------------------------------------------------------

INITS: dict[str, str] = {
    "uniform": "w ~ U(-1, 1), b = 0 (micrograd's choice)",
    "xavier": "Glorot uniform: w ~ U(-r, r), r = sqrt(6 / (fan_in + fan_out)), b = 0",
    "he": "Kaiming normal: w ~ N(0, sqrt(2 / fan_in)**2), b = 0",
    "torch": "torch.nn.Linear's default: w, b ~ U(-r, r), r = 1 / sqrt(fan_in)",
}
"""Every weight initialization name, with its distribution."""

_INIT_ALIASES = {"glorot": "xavier", "kaiming": "he", "micrograd": "uniform"}


def _init_name(init: str | None, activation: str) -> str:
    """The canonical init name; None picks by activation (he for ReLUs, xavier for tanh/sigmoid)."""
    if init is None:
        if activation in _HE_FAMILY:
            return "he"
        return "xavier" if activation in _XAVIER_FAMILY else "uniform"
    if not isinstance(init, str):
        raise TypeError(f"init must be a name ({', '.join(INITS)}) or None, got {describe(init)}")
    key = init.strip().lower()
    key = _INIT_ALIASES.get(key, key)
    if key not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of: {', '.join(INITS)} (or None)")
    return key


def _draw(
    rng: _RandomSource, init: str, fan_in: int, fan_out: int, bias: bool
) -> tuple[list[float], float]:
    """One neuron's initial weights and bias, drawn in order w_0, ..., w_(n-1)[, b]."""
    if init == "he":
        std = math.sqrt(2.0 / fan_in)
        return [rng.gauss(0.0, std) for _ in range(fan_in)], 0.0
    if init == "uniform":
        r = 1.0
    elif init == "xavier":
        r = math.sqrt(6.0 / (fan_in + fan_out))
    else:
        r = 1.0 / math.sqrt(fan_in)
    ws = [rng.uniform(-r, r) for _ in range(fan_in)]
    b = rng.uniform(-r, r) if init == "torch" and bias else 0.0
    return ws, b


# -- inputs ----------------------------------------------------------------------------------------


def _inputs(x: Any, nin: int) -> Sequence[Operand]:
    """Check one example's inputs: ``nin`` numbers or Values (list, tuple or 1-D array)."""
    t = type(x)
    if t is list or t is tuple:
        xs = x
    elif isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise ValueError(
                f"expected one example (a 1-D row of {nin} inputs), got an array of shape "
                f"{x.shape}; call the model on each row: [model(x) for x in X]"
            )
        xs = x.tolist()
    elif t is Value or isinstance(x, numbers.Real):
        if nin != 1:
            raise ValueError(f"expected {nin} inputs, got a single number")
        return [x]
    elif isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        raise TypeError(f"expected a list of {nin} numbers or Values, got {describe(x)}")
    else:
        xs = list(x)
    if len(xs) != nin:
        raise ValueError(f"expected {nin} inputs, got {len(xs)}")
    for i, v in enumerate(xs):
        tv = type(v)
        if (
            tv is not float
            and tv is not Value
            and tv is not int
            and not isinstance(v, numbers.Real)
        ):
            raise TypeError(f"input {i} must be a number or a Value, got {describe(v)}")
    return xs  # type: ignore[no-any-return]


# -- Module ----------------------------------------------------------------------------------------


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` could not match (as PyTorch's result)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every model: finds its parameters and sub-modules by attribute.

    A public attribute that is a :class:`Value` is a parameter; one that is a :class:`Module`
    is a sub-module; lists and tuples of them count item by item. So a module you write
    yourself needs no registration::

        class Affine(Module):
            def __init__(self):
                self.w = Value(1.0)
                self.b = Value(0.0)

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
        if key[:1] != "_" and (
            isinstance(value, Module)
            or (isinstance(value, (list, tuple)) and any(isinstance(v, Module) for v in value))
        ):
            base = self.name
            for path, module in self.named_modules():
                if module is not self:
                    module.name = f"{base}.{path}" if base else path

    def _members(self) -> Iterator[tuple[str, Value | Module]]:
        for key, value in vars(self).items():
            if key[:1] == "_":
                continue
            if type(value) is Value or isinstance(value, Module):
                yield key, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if type(item) is Value or isinstance(item, Module):
                        yield f"{key}.{i}", item

    def named_modules(self) -> list[tuple[str, Module]]:
        """This module ("") and every sub-module, each once, with its dotted path."""
        out: list[tuple[str, Module]] = []
        seen: set[int] = set()

        def visit(path: str, module: Module) -> None:
            if id(module) in seen:
                return
            seen.add(id(module))
            out.append((path, module))
            for key, member in module._members():
                if isinstance(member, Module):
                    visit(f"{path}.{key}" if path else key, member)

        visit("", self)
        return out

    def modules(self) -> list[Module]:
        """This module and every sub-module, each once."""
        return [m for _, m in self.named_modules()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Every parameter with its stable dotted name, e.g. ``layers.0.neurons.3.w.1``."""
        out: list[tuple[str, Value]] = []
        seen: set[Value] = set()
        for path, module in self.named_modules():
            for key, member in module._members():
                if type(member) is Value and member not in seen:
                    seen.add(member)
                    out.append((f"{path}.{key}" if path else key, member))
        return out

    def parameters(self) -> list[Value]:
        """Every parameter (weights, biases, PReLU slopes), in a stable order, each once."""
        return [p for _, p in self.named_parameters()]

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
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self: M) -> M:
        """Switch to evaluation mode: dropout passes its inputs through unchanged."""
        return self.train(False)

    def config(self) -> dict[str, Any]:
        """The architecture as JSON-ready data (what :meth:`save` stores besides the numbers)."""
        return {"type": type(self).__name__}

    def __repr__(self) -> str:
        return _config_repr(self.config())

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
            raise TypeError(f"state must be a dict of name -> number, got {describe(state)}")
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
        """Write the architecture and every parameter to ``path`` as JSON.

        Floats are written with ``repr``, so loading gives back the identical bits. The write is
        atomic: a temporary file in the same folder is written, flushed, fsync'ed and renamed
        over ``path``; if anything fails, ``path`` is left as it was and the temporary file is
        removed. Never pickle: a model file holds only data.
        """
        _atomic_write_json(
            path,
            {
                "format": _FILE_FORMAT,
                "version": _FILE_VERSION,
                "model": self.config(),
                "state": self.state_dict(),
            },
        )

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
        config, state = _read_model_file(path)
        if strict and config != self.config():
            raise ValueError(
                f"{os.fspath(path)}: expected {self!r}, file has {_config_repr(config)}"
            )
        try:
            self.load_state_dict(state, strict=strict)
        except ValueError as exc:
            raise ValueError(f"{os.fspath(path)}: {exc}") from None


def _listing(keys: list[str], what: str) -> str:
    if not keys:
        return ""
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    return f"{', '.join(keys[:3])}{more} {what}"


def _config_repr(config: Mapping[str, Any]) -> str:
    """``MLP(2, [16, 1], activation='relu')`` from a config, or its JSON if it is malformed."""
    try:
        kind = config["type"]
        if kind == "MLP":
            args = [repr(config["nin"]), repr(config["sizes"])]
            args.append(f"activation={config['activation']!r}")
            if config["output_activation"] is not None:
                args.append(f"output_activation={config['output_activation']!r}")
            if config["dropout"]:
                args.append(f"dropout={config['dropout']!r}")
        elif kind == "Layer":
            args = [repr(config["nin"]), repr(config["nout"])]
            args.append(f"activation={config['activation']!r}")
        elif kind == "Neuron":
            args = [repr(config["nin"]), f"activation={config['activation']!r}"]
        else:
            args = [f"{k}={v!r}" for k, v in config.items() if k != "type"]
        if kind in ("MLP", "Layer", "Neuron") and not config["bias"]:
            args.append("bias=False")
        return f"{kind}({', '.join(args)})"
    except (KeyError, TypeError):
        return json.dumps(config)


def _atomic_write_json(path: str | os.PathLike[str], data: object) -> None:
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    tmp = os.path.join(folder, f".{os.path.basename(target)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":  # make the rename itself durable
        with contextlib.suppress(OSError):
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def _read_model_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (config, state) stored in a model file, or a ValueError saying what is wrong."""
    where = os.fspath(path)
    with open(where, "rb") as f:
        raw = f.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{where}: not a valid microgradnn model file ({exc}); it may be truncated or corrupted"
        ) from None
    if not isinstance(data, dict) or data.get("format") != _FILE_FORMAT:
        raise ValueError(
            f"{where}: not a microgradnn model file (expected a JSON object with "
            f'"format": "{_FILE_FORMAT}")'
        )
    if data.get("version") != _FILE_VERSION:
        raise ValueError(
            f"{where}: model file version {data.get('version')!r} is not supported "
            f"(this microgradnn reads version {_FILE_VERSION})"
        )
    config, state = data.get("model"), data.get("state")
    if not isinstance(config, dict) or not isinstance(config.get("type"), str):
        raise ValueError(f"{where}: the model description is missing or malformed")
    if not isinstance(state, dict):
        raise ValueError(f"{where}: the parameters ('state') are missing or malformed")
    return config, state


# -- PReLU, Dropout --------------------------------------------------------------------------------


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
        if isinstance(init, bool) or not isinstance(init, numbers.Real):
            raise TypeError(f"PReLU init must be a number, got {describe(init)}")
        self.alpha = Value(float(init), label="α")

    def __call__(self, z: Value) -> Value:
        """The output: z where z > 0, alpha * z elsewhere."""
        return z.prelu(self.alpha)

    def __repr__(self) -> str:
        return f"PReLU(alpha={self.alpha.data:.6g})"


def _dropout_probability(p: object) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"dropout probability must be a number in [0, 1), got {describe(p)}")
    q = float(p)
    if not 0.0 <= q < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p!r}")
    return q


class Dropout(Module):
    """Inverted dropout: in training, zero each input with probability p, scale the rest by 1/(1-p).

    The scaling keeps every unit's expected value, so evaluation (``model.eval()``) simply
    passes inputs through. Dropped units stay in the graph as ``x * 0`` (gradient 0).

    Args:
        p: Probability of dropping a unit, in [0, 1).
        seed: An int, a ``random.Random``, or None for the global ``random`` module.

    >>> drop = Dropout(0.5, seed=0)
    >>> [v.data for v in drop([Value(1.0)] * 4)]
    [2.0, 2.0, 0.0, 0.0]
    >>> [v.data for v in drop.eval()([Value(1.0)] * 4)]
    [1.0, 1.0, 1.0, 1.0]
    """

    p: float
    _rng: _RandomSource
    _scale: float

    def __init__(self, p: float = 0.5, seed: Seed = None) -> None:
        self.p = _dropout_probability(p)
        self._rng = _rng(seed)
        self._scale = 1.0 / (1.0 - self.p)

    def __call__(self, x: Sequence[Operand]) -> list[Operand]:
        """The inputs with dropout applied (unchanged in evaluation mode)."""
        if isinstance(x, (Value, str, bytes)) or not isinstance(x, Iterable):
            raise TypeError(f"Dropout expects a list of Values, got {describe(x)}")
        return self._forward(list(x))

    def _forward(self, xs: list[Any]) -> list[Any]:
        if not self.training or self.p == 0.0:
            return xs
        draw, p, scale = self._rng.random, self.p, self._scale
        return [v * scale if draw() >= p else v * 0.0 for v in xs]

    def config(self) -> dict[str, Any]:  # noqa: D102
        return {"type": "Dropout", "p": self.p}


# -- Neuron, Layer, MLP ----------------------------------------------------------------------------

_MUL = Value.__mul__


class Neuron(Module):
    """One unit: z = w_1 x_1 + ... + w_n x_n + b, then a = activation(z).

    Args:
        nin: Number of inputs n.
        activation: A name from :data:`ACTIVATIONS` or a function from Value to Value.
        bias: Whether the neuron has a bias b.
        init: Weight initialization, a name from :data:`INITS`; None picks by activation.
        seed: An int, a ``random.Random``, or None for the global ``random`` module.
        fan_out: Width of the layer this neuron belongs to (only Xavier init uses it).

    Attributes:
        w: The weights, Values labelled ``w0`` .. ``w{n-1}``.
        b: The bias, a Value labelled ``b`` (None without bias).
        activation: The activation function (a :class:`PReLU` for ``"prelu"``).

    The sum is one Σ node with inputs (w_1 x_1, ..., w_n x_n, b), labelled ``z``; the
    activation's output is labelled ``a``.

    >>> n = Neuron(2, activation="sigmoid", seed=0)
    >>> out = n([1.0, 2.0])
    >>> out.label, out._prev[0].label, len(out._prev[0]._prev)
    ('a', 'z', 3)
    """

    nin: int
    w: list[Value]
    b: Value | None
    activation: Activation
    _activation: str
    _act: Activation | None

    def __init__(
        self,
        nin: int,
        activation: str | Activation = "linear",
        bias: bool = True,
        init: str | None = "uniform",
        seed: Seed = None,
        *,
        fan_out: int = 1,
    ) -> None:
        nin = _positive_int(nin, "nin")
        act = get_activation(activation)
        described = _describe_activation(activation)
        if described.startswith("custom:") and not isinstance(act, PReLU):
            _check_custom_activation(act, described)
        ws, b = _draw(_rng(seed), _init_name(init, described), nin, fan_out, bool(bias))
        self.nin = nin
        self.w = [Value(x, label=f"w{i}") for i, x in enumerate(ws)]
        self.b = Value(b, label="b") if bias else None
        self.activation = act
        self._activation = described
        self._act = None if act is identity else act

    def __call__(self, x: Sequence[Operand] | Any) -> Value:
        """The neuron's output a for one example's inputs (a list, tuple or 1-D array)."""
        return self._forward(_inputs(x, self.nin))

    def _forward(self, x: Sequence[Operand]) -> Value:
        terms = list(map(_MUL, self.w, x))
        if self.b is not None:
            terms.append(self.b)
        z = Value.sum(terms)
        z.label = "z"
        act = self._act
        if act is None:
            return z
        a = act(z)
        a.label = "a"
        return a

    def config(self) -> dict[str, Any]:  # noqa: D102
        return {
            "type": "Neuron",
            "nin": self.nin,
            "activation": self._activation,
            "bias": self.b is not None,
        }


def _check_custom_activation(act: Activation, described: str) -> None:
    """Try a custom activation once, so a wrong one fails here rather than mid-training."""
    with no_grad():
        out = act(Value(0.0))
    if type(out) is not Value:
        raise TypeError(
            f"activation {described[7:]} must map a Value to a Value, it returned {describe(out)}"
        )


class Layer(Module):
    """nout neurons reading the same nin inputs: a = activation(W x + b).

    Calling a layer returns a Value when ``nout == 1``, else a list of Values.

    Args:
        nin: Number of inputs.
        nout: Number of neurons (outputs).
        activation: A name from :data:`ACTIVATIONS` or a function from Value to Value. A
            :class:`PReLU` object is shared by all the neurons (one slope for the layer).
        bias: Whether the neurons have biases.
        init: Weight initialization, a name from :data:`INITS`; None picks by activation.
        seed: An int, a ``random.Random``, or None for the global ``random`` module.

    >>> layer = Layer(3, 2, activation="relu", seed=0)
    >>> len(layer([1.0, 2.0, 3.0])), layer.num_parameters()
    (2, 8)
    """

    nin: int
    nout: int
    activation: str | Activation
    bias: bool
    neurons: list[Neuron]

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str | Activation = "linear",
        bias: bool = True,
        init: str | None = "uniform",
        seed: Seed = None,
    ) -> None:
        nin = _positive_int(nin, "nin")
        nout = _positive_int(nout, "nout")
        described = _describe_activation(activation)
        init_name = _init_name(init, described)
        rng = _source(seed)
        self.nin = nin
        self.nout = nout
        self.activation = activation
        self.bias = bool(bias)
        self.neurons = [
            Neuron(nin, activation, bias, init_name, rng, fan_out=nout) for _ in range(nout)
        ]

    def __call__(self, x: Sequence[Operand] | Any) -> Value | list[Value]:
        """The layer's outputs for one example: a Value if nout == 1, else a list."""
        out = self._forward(_inputs(x, self.nin))
        return out[0] if self.nout == 1 else out

    def _forward(self, x: Sequence[Operand]) -> list[Value]:
        return [n._forward(x) for n in self.neurons]

    def config(self) -> dict[str, Any]:  # noqa: D102
        return {
            "type": "Layer",
            "nin": self.nin,
            "nout": self.nout,
            "activation": _describe_activation(self.activation),
            "bias": self.bias,
        }


class MLP(Module):
    """A multi-layer perceptron: layers of the given widths, y = f_L(... f_1(x)).

    Hidden layers use ``activation``; the last layer is linear unless ``output_activation``.
    Each layer is fed a list, so a one-neuron hidden layer works (``MLP(2, [16, 1, 1])``,
    micrograd's bug). The model returns a Value when the last layer has one neuron, else a
    list of Values.

    Args:
        nin: Number of inputs.
        sizes: Width of each layer, e.g. ``[16, 16, 1]``.
        activation: Hidden activation: a name from :data:`ACTIVATIONS` or a function.
        output_activation: The last layer's activation (None: linear, for logits/regression).
        init: A name from :data:`INITS`; None picks "he" for the ReLU family, "xavier" for
            tanh/sigmoid, "uniform" otherwise. ``random.seed(1337); MLP(2, [16, 16, 1],
            init="uniform")`` draws micrograd's weights.
        seed: An int, a ``random.Random``, or None for the global ``random`` module. Same
            seed, identical weights.
        dropout: Dropout probability after every hidden layer (0 for none).
        bias: Whether neurons have biases.

    >>> model = MLP(2, [16, 16, 1], seed=1)
    >>> model, model.num_parameters()
    (MLP(2, [16, 16, 1], activation='relu'), 337)
    """

    nin: int
    sizes: list[int]
    activation: str | Activation
    output_activation: str | Activation | None
    init: str
    dropout: float
    bias: bool
    layers: list[Layer | Dropout]

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str | Activation = "relu",
        output_activation: str | Activation | None = None,
        init: str | None = None,
        seed: Seed = None,
        dropout: float = 0.0,
        *,
        bias: bool = True,
    ) -> None:
        nin = _positive_int(nin, "nin")
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise TypeError(
                f"sizes must be a list of layer widths like [16, 16, 1], got {describe(sizes)}"
            )
        if not sizes:
            raise ValueError("sizes must list at least one layer width, e.g. [16, 16, 1]")
        widths = [_positive_int(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
        dropout = _dropout_probability(dropout)
        hidden = _describe_activation(activation)
        init_name = _init_name(init, hidden)
        rng = _source(seed)
        self.nin = nin
        self.sizes = widths
        self.activation = activation
        self.output_activation = output_activation
        self.init = init_name
        self.dropout = float(dropout)
        self.bias = bool(bias)
        dims = [nin, *widths]
        last = len(widths) - 1
        layers: list[Layer] = [
            Layer(
                dims[i],
                dims[i + 1],
                activation if i < last else (output_activation or "linear"),
                bias,
                init_name,
                rng,
            )
            for i in range(len(widths))
        ]
        stack: list[Layer | Dropout] = []
        for i, layer in enumerate(layers):
            stack.append(layer)
            if self.dropout and i < last:
                bits = _rng(rng).getrandbits(64)
                stack.append(Dropout(self.dropout, seed=random.Random(bits)))
        self.layers = stack

    def __call__(self, x: Sequence[Operand] | Any) -> Value | list[Value]:
        """The network's output for one example: a Value if the last layer has one neuron."""
        out = self._forward(_inputs(x, self.nin))
        return out[0] if len(out) == 1 else out

    def _forward(self, x: Sequence[Operand]) -> list[Value]:
        for layer in self.layers:
            x = layer._forward(x)  # type: ignore[arg-type]
        return x  # type: ignore[return-value]

    def config(self) -> dict[str, Any]:  # noqa: D102
        out = self.output_activation
        return {
            "type": "MLP",
            "nin": self.nin,
            "sizes": list(self.sizes),
            "activation": _describe_activation(self.activation),
            "output_activation": None if out is None else _describe_activation(out),
            "dropout": self.dropout,
            "bias": self.bias,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MLP:
        """Build an MLP (with fresh weights) from :meth:`config`'s description."""
        if not isinstance(config, Mapping) or config.get("type") != "MLP":
            raise ValueError(f"expected an MLP description, got {_config_repr(config)}")
        known = {"type", "nin", "sizes", "activation", "output_activation", "dropout", "bias"}
        extra = sorted(set(config) - known)
        if extra:
            raise ValueError(f"unknown keys in the MLP description: {', '.join(extra)}")
        for key in ("activation", "output_activation"):
            spec = config.get(key)
            if isinstance(spec, str) and spec.startswith("custom:"):
                raise ValueError(
                    f"the model uses a custom activation ({spec[7:]}), which a file cannot "
                    "hold: build the MLP yourself and call model.load(path)"
                )
        kwargs = {k: v for k, v in config.items() if k != "type"}
        try:
            return cls(**kwargs, seed=0)
        except TypeError as exc:
            raise ValueError(f"bad MLP description {_config_repr(config)}: {exc}") from None

    def to_torch(self) -> torch.nn.Sequential:
        """The same network as a float64 ``torch.nn.Sequential`` (Linear + activation modules).

        Weights are copied exactly, so both give the same outputs (to rounding). Per-neuron
        PReLU slopes become ``torch.nn.PReLU(num_parameters=n)``; one shared PReLU object
        becomes ``torch.nn.PReLU()``. step, sign and hard_sigmoid, which torch lacks, become a
        small module that computes them. torch's PReLU with n slopes needs 2-D input (N, nin).
        """
        try:
            import torch
        except ImportError as exc:
            raise ImportError(f"MLP.to_torch() needs PyTorch: {_TORCH_HINT}") from exc
        f64 = torch.float64
        modules: list[torch.nn.Module] = []
        shared: dict[int, torch.nn.Module] = {}
        for layer in self.layers:
            if isinstance(layer, Dropout):
                modules.append(torch.nn.Dropout(layer.p))
                continue
            linear = torch.nn.utils.skip_init(  # type: ignore[no-untyped-call]
                torch.nn.Linear, layer.nin, layer.nout, bias=layer.bias, dtype=f64
            )
            with torch.no_grad():
                linear.weight.copy_(
                    torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=f64)
                )
                if layer.bias:
                    linear.bias.copy_(
                        torch.tensor([n.b.data for n in layer.neurons if n.b], dtype=f64)
                    )
            modules.append(linear)
            act = _torch_activation(torch, layer, shared)
            if act is not None:
                modules.append(act)
        seq = torch.nn.Sequential(*modules)
        seq.train(self.training)
        return seq

    @classmethod
    def from_torch(cls, seq: torch.nn.Module) -> MLP:
        """Rebuild an MLP from a ``torch.nn.Sequential`` of Linear layers and activations.

        Understands Linear, ReLU, Tanh, Sigmoid, LeakyReLU (slope 0.01), PReLU, Identity,
        Dropout (after the activation) and what :meth:`to_torch` writes. Every hidden layer
        must use the same activation. A ``torch.nn.PReLU()`` with one shared slope becomes one
        slope per neuron, each starting at that value: the outputs are the same, and training
        then adjusts each neuron's slope on its own.
        """
        try:
            import torch
        except ImportError as exc:
            raise ImportError(f"MLP.from_torch() needs PyTorch: {_TORCH_HINT}") from exc
        linears = _parse_torch(torch, seq)
        for i in range(1, len(linears)):
            if linears[i].nin != linears[i - 1].nout:
                raise ValueError(
                    f"Linear layer {i} takes {linears[i].nin} inputs but layer {i - 1} gives "
                    f"{linears[i - 1].nout}"
                )
        hidden = {spec.activation for spec in linears[:-1]}
        if len(hidden) > 1:
            found = ", ".join(f"{s.activation} after layer {i}" for i, s in enumerate(linears[:-1]))
            raise ValueError(f"an MLP uses one activation for every hidden layer, got {found}")
        drops = {spec.dropout for spec in linears[:-1]}
        if len(drops) > 1:
            raise ValueError(
                f"an MLP uses one dropout after every hidden layer, got {sorted(drops)}"
            )
        if linears[-1].dropout:
            raise ValueError("an MLP has no dropout after its output layer")
        if len({spec.bias is not None for spec in linears}) > 1:
            raise ValueError("an MLP has biases in every layer or in none")
        out_act = linears[-1].activation
        model = cls(
            linears[0].nin,
            [spec.nout for spec in linears],
            activation=hidden.pop() if hidden else "relu",
            output_activation=None if out_act == "linear" else out_act,
            init="uniform",
            seed=0,
            dropout=drops.pop() if drops else 0.0,
            bias=linears[0].bias is not None,
        )
        layers = [layer for layer in model.layers if isinstance(layer, Layer)]
        for layer, spec in zip(layers, linears, strict=True):
            for j, neuron in enumerate(layer.neurons):
                for w, value in zip(neuron.w, spec.weight[j], strict=True):
                    w.data = value
                if neuron.b is not None and spec.bias is not None:
                    neuron.b.data = spec.bias[j]
                if spec.alphas is not None and isinstance(neuron.activation, PReLU):
                    neuron.activation.alpha.data = spec.alphas[j % len(spec.alphas)]
        model.train(bool(seq.training))
        return model


def load_model(path: str | os.PathLike[str]) -> MLP:
    """Rebuild the MLP saved in ``path`` by :meth:`Module.save`, weights and all.

    >>> import os, tempfile
    >>> model = MLP(2, [3, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> model.save(path)
    >>> load_model(path).state_dict() == model.state_dict()
    True
    """
    config, state = _read_model_file(path)
    where = os.fspath(path)
    if config["type"] != "MLP":
        raise ValueError(
            f"{where} holds a {_config_repr(config)}; load_model rebuilds MLPs: build the "
            "module yourself and call its .load(path)"
        )
    try:
        model = MLP.from_config(config)
        model.load_state_dict(state)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return model


# -- PyTorch conversion helpers -------------------------------------------------------------------

_TORCH_SIMPLE = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}
_torch_elementwise: Any = None


def _torch_elementwise_module(torch: Any, name: str) -> Any:
    """A torch module for step, sign or hard_sigmoid, which torch.nn lacks."""
    global _torch_elementwise
    if _torch_elementwise is None:

        class MicrogradnnActivation(torch.nn.Module):  # type: ignore[misc]
            """microgradnn's step, sign or hard_sigmoid as a torch module (same gradients)."""

            def __init__(self, name: str) -> None:
                super().__init__()
                self.name = name

            def forward(self, x: Any) -> Any:
                if self.name == "step":
                    out = torch.where(x > 0, 1.0, torch.where(x < 0, 0.0, 0.5))
                    return out + 0.0 * x
                if self.name == "sign":
                    return torch.sign(x)
                return torch.clamp(x + 0.5, 0.0, 1.0)

            def extra_repr(self) -> str:
                return repr(self.name)

        _torch_elementwise = MicrogradnnActivation
    return _torch_elementwise(name)


def _torch_activation(torch: Any, layer: Layer, shared: dict[int, Any]) -> Any:
    """The torch module for a layer's activation (None for linear)."""
    name = layer.neurons[0]._activation
    if name == "linear":
        return None
    if name in _TORCH_SIMPLE:
        return getattr(torch.nn, _TORCH_SIMPLE[name])()
    if name == "leaky_relu":
        return torch.nn.LeakyReLU(0.01)
    if name in ("step", "sign", "hard_sigmoid"):
        return _torch_elementwise_module(torch, name)
    acts = [n.activation for n in layer.neurons]
    if all(isinstance(a, PReLU) for a in acts):
        alphas = [a.alpha.data for a in acts if isinstance(a, PReLU)]
        if all(a is acts[0] for a in acts):
            key = id(acts[0])
            if key not in shared:
                shared[key] = torch.nn.PReLU(1, dtype=torch.float64)
                with torch.no_grad():
                    shared[key].weight.fill_(alphas[0])
            return shared[key]
        if len({id(a) for a in acts}) == len(acts):
            module = torch.nn.PReLU(len(acts), dtype=torch.float64)
            with torch.no_grad():
                module.weight.copy_(torch.tensor(alphas, dtype=torch.float64))
            return module
    where = layer.name or "the layer"
    raise ValueError(f"{where}: activation {name!r} has no PyTorch equivalent")


class _LinearSpec:
    """One Linear layer read from torch, with what follows it."""

    def __init__(self, weight: list[list[float]], bias: list[float] | None) -> None:
        self.weight = weight
        self.bias = bias
        self.nout = len(weight)
        self.nin = len(weight[0]) if weight else 0
        self.activation = "linear"
        self.alphas: list[float] | None = None
        self.dropout = 0.0
        self.has_activation = False


def _parse_torch(torch: Any, seq: Any) -> list[_LinearSpec]:
    if not isinstance(seq, torch.nn.Module):
        raise TypeError(f"from_torch expects a torch.nn.Sequential, got {describe(seq)}")

    def flatten(module: Any) -> Iterator[Any]:
        if isinstance(module, torch.nn.Sequential):
            for child in module:
                yield from flatten(child)
        else:
            yield module

    specs: list[_LinearSpec] = []
    supported = "Linear, ReLU, Tanh, Sigmoid, LeakyReLU(0.01), PReLU, Identity, Dropout"
    for i, module in enumerate(flatten(seq)):
        kind = type(module).__name__
        if isinstance(module, torch.nn.Linear):
            weight = module.weight.detach().to(torch.float64).tolist()
            bias = None if module.bias is None else module.bias.detach().to(torch.float64).tolist()
            specs.append(_LinearSpec(weight, bias))
            continue
        if isinstance(module, torch.nn.Identity):
            continue
        if not specs:
            raise ValueError(f"from_torch expects a torch.nn.Linear first, got {kind}")
        spec = specs[-1]
        if isinstance(module, torch.nn.Dropout):
            if spec.dropout:
                raise ValueError(f"module {i}: two Dropout modules after one Linear")
            spec.dropout = float(module.p)
            continue
        if spec.has_activation or spec.dropout:
            raise ValueError(
                f"module {i} ({kind}): an MLP layer is Linear, then one activation, then "
                "optionally Dropout"
            )
        spec.has_activation = True
        if isinstance(module, torch.nn.PReLU):
            alphas = module.weight.detach().to(torch.float64).tolist()
            if len(alphas) not in (1, spec.nout):
                raise ValueError(
                    f"module {i}: PReLU has {len(alphas)} slopes for a layer of {spec.nout}"
                )
            spec.activation, spec.alphas = "prelu", alphas
        elif isinstance(module, torch.nn.LeakyReLU):
            if module.negative_slope != 0.01:
                raise ValueError(
                    f"module {i}: LeakyReLU slope {module.negative_slope} (microgradnn's "
                    "leaky_relu uses 0.01)"
                )
            spec.activation = "leaky_relu"
        elif kind in ("ReLU", "Tanh", "Sigmoid"):
            spec.activation = kind.lower()
        elif kind == "MicrogradnnActivation":
            spec.activation = module.name
        else:
            raise ValueError(f"from_torch does not know {kind} (module {i}); it knows {supported}")
    if not specs:
        raise ValueError("from_torch found no torch.nn.Linear layer")
    return specs
