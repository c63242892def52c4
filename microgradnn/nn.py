"""Neural networks from Values: Neuron, Layer, MLP and Dropout.

The lectures' model, one piece per class: a :class:`Neuron` computes z = w . x + b and
a = sigma(z); a :class:`Layer` is a list of neurons reading the same inputs; an :class:`MLP`
stacks layers, a^l = sigma(W^l a^(l-1) + b^l). Every weight and bias is a
:class:`~microgradnn.Value`, so ``loss.backward()`` fills each parameter's ``grad``.

What every model shares (``parameters()``, ``zero_grad()``, ``train()``/``eval()``,
``state_dict()``, ``save()``) lives in :mod:`microgradnn.module`; the activations and weight
initializations in :mod:`microgradnn.activations`.

>>> model = MLP(2, [4, 1], activation="tanh", seed=0)
>>> model
MLP(2, [4, 1], activation='tanh')
>>> y = model([1.0, -2.0])
>>> y.backward()
>>> model.num_parameters(), model.named_parameters()[0][0]
(17, 'layers.0.neurons.0.w.0')
"""

from __future__ import annotations

import json
import numbers
import os
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from microgradnn._checks import describe, flag, integer, number
from microgradnn.activations import (
    ACTIVATIONS,
    INITS,
    Activation,
    PReLU,
    RandomSource,
    Seed,
    describe_activation,
    draw_weights,
    get_activation,
    identity,
    init_name,
    random_source,
    rng,
)
from microgradnn.engine import CompileError, Value, is_tracing, no_grad
from microgradnn.functional import log_softmax, logsumexp, softmax
from microgradnn.module import IncompatibleKeys, Module

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
    "describe_config",
    "get_activation",
    "load_model",
    "log_softmax",
    "logsumexp",
    "mlp_num_parameters",
    "softmax",
]

Operand = Union[Value, float]


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
            raise TypeError(f"input {i}: expected a number or a Value, got {describe(v)}")
    return xs  # type: ignore[no-any-return]


def _width(name: str, value: object) -> int:
    return integer(name, value, low=1)


def _dropout_probability(p: object) -> float:
    return number("dropout probability", p, low=0.0, high=1.0, high_open=True)


# -- Dropout -----------------------------------------------------------------------------------


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
    _rng: RandomSource
    _scale: float

    def __init__(self, p: float = 0.5, seed: Seed = None) -> None:
        self.p = _dropout_probability(p)
        self._rng = rng(seed)
        self._scale = 1.0 / (1.0 - self.p)

    def __call__(self, x: Sequence[Operand]) -> list[Operand]:
        """The inputs with dropout applied (unchanged in evaluation mode)."""
        if isinstance(x, (Value, str, bytes)) or not isinstance(x, Iterable):
            raise TypeError(f"Dropout: expected a list of Values, got {describe(x)}")
        return self._forward(list(x))

    def _forward(self, xs: list[Any]) -> list[Any]:
        if not self.training or self.p == 0.0:
            return xs
        if is_tracing():
            raise CompileError(
                f"an active Dropout ({self.name or 'Dropout'}, p={self.p:g}) draws a fresh random "
                "mask for every example, which one traced graph cannot replay; call "
                "model.eval() first, or use compiled=False"
            )
        draw, p, scale = self._rng.random, self.p, self._scale
        return [v * scale if draw() >= p else v * 0.0 for v in xs]

    def config(self) -> dict[str, Any]:  # noqa: D102
        return {"type": "Dropout", "p": self.p}


# -- Neuron, Layer, MLP ----------------------------------------------------------------------------

_MUL = Value.__mul__


def _micrograd_nonlin(activation: str | Activation, nonlin: bool | None) -> str | Activation:
    """The activation micrograd's ``nonlin`` flag names: ReLU when True, none when False."""
    if nonlin is None:
        return activation
    nonlin = flag("nonlin", nonlin)
    if activation != "linear":
        raise ValueError(
            f"give either activation ({describe(activation)}) or micrograd's nonlin, not both"
        )
    return "relu" if nonlin else "linear"


class Neuron(Module):
    """One unit: z = w_1 x_1 + ... + w_n x_n + b, then a = activation(z).

    Args:
        nin: Number of inputs n.
        activation: A name from :data:`ACTIVATIONS` or a function from Value to Value.
        bias: Whether the neuron has a bias b.
        init: Weight initialization, a name from :data:`INITS`; None picks by activation.
        seed: An int, a ``random.Random``, or None for the global ``random`` module.
        fan_out: Width of the layer this neuron belongs to (only Xavier init uses it).
        nonlin: micrograd's spelling: True for ReLU, False for none (instead of
            ``activation``; micrograd's own default is ReLU, this class's is linear).

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
    nout: int = 1
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
        nonlin: bool | None = None,
    ) -> None:
        nin = _width("nin", nin)
        bias = flag("bias", bias)
        activation = _micrograd_nonlin(activation, nonlin)
        act = get_activation(activation)
        described = describe_activation(activation)
        if described.startswith("custom:"):
            _check_custom_activation(act, described)
        ws, b = draw_weights(rng(seed), init_name(init, described), nin, fan_out, bias)
        self.nin = nin
        self.w = [Value(x, label=f"w{i}") for i, x in enumerate(ws)]
        self.b = Value(b, label="b") if bias else None
        self.activation = act
        self._activation = described
        self._act = None if act is identity else act

    @property
    def activation_name(self) -> str:
        """The activation's name in :data:`ACTIVATIONS` (``custom:<name>`` for your own)."""
        return self._activation

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

    def __repr__(self) -> str:
        return describe_config(self.config())


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
        nonlin: micrograd's spelling: True for ReLU, False for none (instead of
            ``activation``).

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
        *,
        nonlin: bool | None = None,
    ) -> None:
        nin = _width("nin", nin)
        nout = _width("nout", nout)
        bias = flag("bias", bias)
        activation = _micrograd_nonlin(activation, nonlin)
        described = describe_activation(activation)
        chosen = init_name(init, described)
        source = random_source(seed)
        self.nin = nin
        self.nout = nout
        self.activation = activation
        self.bias = bias
        self.neurons = [
            Neuron(nin, activation, bias, chosen, source, fan_out=nout) for _ in range(nout)
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
            "activation": describe_activation(self.activation),
            "bias": self.bias,
        }

    def __repr__(self) -> str:
        return describe_config(self.config())


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
        nin = _width("nin", nin)
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise TypeError(
                f"sizes: expected a list of layer widths like [16, 16, 1], got {describe(sizes)}"
            )
        if not sizes:
            raise ValueError("sizes: expected at least one layer width, e.g. [16, 16, 1], got []")
        widths = [_width(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        dropout = _dropout_probability(dropout)
        bias = flag("bias", bias)
        hidden = describe_activation(activation)
        if output_activation is not None:
            describe_activation(output_activation)
        chosen = init_name(init, hidden)
        source = random_source(seed)
        self.nin = nin
        self.sizes = widths
        self.activation = activation
        self.output_activation = output_activation
        self.init = chosen
        self.dropout = dropout
        self.bias = bias
        dims = [nin, *widths]
        last = len(widths) - 1
        layers: list[Layer] = [
            Layer(
                dims[i],
                dims[i + 1],
                activation if i < last else (output_activation or "linear"),
                bias,
                chosen,
                source,
            )
            for i in range(len(widths))
        ]
        stack: list[Layer | Dropout] = []
        for i, layer in enumerate(layers):
            stack.append(layer)
            if self.dropout and i < last:
                bits = rng(source).getrandbits(64)
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

    @property
    def nout(self) -> int:
        """Number of outputs (the last layer's width)."""
        return self.sizes[-1]

    def config(self) -> dict[str, Any]:  # noqa: D102
        out = self.output_activation
        return {
            "type": "MLP",
            "nin": self.nin,
            "sizes": list(self.sizes),
            "activation": describe_activation(self.activation),
            "output_activation": None if out is None else describe_activation(out),
            "dropout": self.dropout,
            "bias": self.bias,
        }

    def __repr__(self) -> str:
        return describe_config(self.config())

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MLP:
        """Build an MLP (with fresh weights) from :meth:`config`'s description.

        Keys left out take the constructor's defaults. The whole description is checked by
        :func:`mlp_num_parameters` before anything is built.

        Raises:
            ValueError: Not an MLP description, or a key that is unknown, missing, of the wrong
                type or value, or a custom activation (a file cannot hold one); the message
                names the key.
        """
        mlp_num_parameters(config)
        return cls(**{k: v for k, v in config.items() if k != "type"}, seed=0)

    def to_torch(self) -> torch.nn.Sequential:
        """The same network as a float64 ``torch.nn.Sequential`` (Linear + activation modules).

        See :func:`microgradnn.torch_bridge.to_torch`.
        """
        from microgradnn import torch_bridge

        seq: torch.nn.Sequential = torch_bridge.to_torch(self)
        return seq

    @classmethod
    def from_torch(cls, seq: torch.nn.Module) -> MLP:
        """Rebuild an MLP from a ``torch.nn.Sequential`` of Linear layers and activations.

        See :func:`microgradnn.torch_bridge.from_torch`.
        """
        from microgradnn import torch_bridge

        return torch_bridge.from_torch(seq)


def mlp_num_parameters(config: Mapping[str, Any]) -> int:
    """The number of parameters of the MLP that ``config`` describes, without building it.

    Integer arithmetic on the description alone, so a file that claims a billion-wide layer
    costs nothing to check: each neuron has one weight per input, a bias unless ``bias`` is
    False, and its own slope when its activation is ``"prelu"``; dropout adds none. Every key is
    checked as :class:`MLP` checks its arguments, and a wrong type is a ValueError here too:
    a description is data read from somewhere, not a call.

    >>> mlp_num_parameters({"type": "MLP", "nin": 2, "sizes": [16, 16, 1]})
    337
    >>> mlp_num_parameters({"type": "MLP", "nin": 2, "sizes": [4, 1], "bias": "no"})
    Traceback (most recent call last):
    ...
    ValueError: bad MLP description: bias: expected True or False, got str 'no'

    Raises:
        ValueError: Not an MLP description, or a key that is unknown, missing, of the wrong type
            or value, or a custom activation; the message names the key.
    """
    import inspect

    if not isinstance(config, Mapping) or config.get("type") != "MLP":
        raise ValueError(f"expected an MLP description, got {describe_config(config)}")
    known = {"type", "nin", "sizes", "activation", "output_activation", "dropout", "bias"}
    extra = sorted(str(k) for k in set(config) - known)
    if extra:
        raise ValueError(f"unknown keys in the MLP description: {', '.join(extra)}")
    defaults = {
        name: p.default
        for name, p in inspect.signature(MLP).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    missing = sorted(known - {"type"} - set(config) - set(defaults))
    if missing:
        raise ValueError(f"bad MLP description: missing keys: {', '.join(missing)}")
    spec = {**defaults, **config}
    for key in ("activation", "output_activation"):
        name = spec[key]
        if isinstance(name, str) and name.startswith("custom:"):
            raise ValueError(
                f"the model uses a custom activation ({name[7:]}), which a file cannot "
                "hold: build the MLP yourself and call model.load(path)"
            )

    def slopes(key: str) -> bool:
        """Whether the ``key`` activation gives each neuron a PReLU slope."""
        name = spec[key]
        if name is None and key == "output_activation":
            return False
        none = " or None" if key == "output_activation" else ""
        names = f"one of {', '.join(ACTIVATIONS)}{none}"
        if not isinstance(name, str):
            raise TypeError(f"{key}: expected {names}, got {describe(name)}")
        try:
            return describe_activation(name) == "prelu"
        except ValueError:
            raise ValueError(f"{key}: expected {names}, got {name!r}") from None

    try:
        nin = _width("nin", spec["nin"])
        sizes = spec["sizes"]
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise TypeError(
                f"sizes: expected a list of layer widths like [16, 16, 1], got {describe(sizes)}"
            )
        if not sizes:
            raise ValueError("sizes: expected at least one layer width, e.g. [16, 16, 1], got []")
        widths = [_width(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        number("dropout", spec["dropout"], low=0.0, high=1.0, high_open=True)
        bias = flag("bias", spec["bias"])
        hidden, output = slopes("activation"), slopes("output_activation")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad MLP description: {exc}") from None
    fan_ins = [nin, *widths[:-1]]
    last = len(widths) - 1
    return sum(
        width * (fan_in + bias + (output if i == last else hidden))
        for i, (fan_in, width) in enumerate(zip(fan_ins, widths, strict=True))
    )


def describe_config(config: Mapping[str, Any]) -> str:
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
        return json.dumps(config, default=repr)


def load_model(path: str | os.PathLike[str]) -> MLP:
    """Rebuild the MLP saved in ``path`` by :meth:`Module.save`, weights and all.

    See :func:`microgradnn.serialization.load_model`.

    >>> import os, tempfile
    >>> model = MLP(2, [3, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> model.save(path)
    >>> load_model(path).state_dict() == model.state_dict()
    True
    """
    from microgradnn import serialization

    return serialization.load_model(path)
