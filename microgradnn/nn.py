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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Union

import numpy as np

from microgradnn._checks import describe, flag, integer, number
from microgradnn.activations import (
    ACTIVATIONS,
    INITS,
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
from microgradnn.activations import Activation as ActivationFn
from microgradnn.engine import CompileError, Value, is_tracing, no_grad
from microgradnn.functional import log_softmax, logsumexp, softmax
from microgradnn.module import IncompatibleKeys, Module, io_sizes

if TYPE_CHECKING:
    import torch

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LAYER_ACTIVATIONS",
    "MLP",
    "SOFTMAX",
    "Activation",
    "Dense",
    "Dropout",
    "FinalActivation",
    "IncompatibleKeys",
    "Layer",
    "Module",
    "Neuron",
    "PReLU",
    "Sequential",
    "describe_config",
    "final_activation",
    "get_activation",
    "layer_activation_name",
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

SOFTMAX = "softmax"
"""The one layer-wide activation: it reads every output of a layer, so no single neuron has it."""

LAYER_ACTIVATIONS: tuple[str, ...] = (*ACTIVATIONS, SOFTMAX)
"""The activation names a layer, a :class:`Dense`, an :class:`Activation` and an MLP's output
accept: every per-neuron name in :data:`ACTIVATIONS`, and ``"softmax"``."""


def layer_activation_name(spec: str | ActivationFn) -> str:
    """The canonical name of a layer's activation (``custom:<name>`` for a function of yours).

    One of :data:`LAYER_ACTIVATIONS`: the per-neuron names and ``"softmax"``.

    >>> layer_activation_name("Softmax"), layer_activation_name("logistic")
    ('softmax', 'sigmoid')
    """
    if isinstance(spec, str) and spec.strip().lower() == SOFTMAX:
        return SOFTMAX
    try:
        return describe_activation(spec)
    except ValueError:
        known = ", ".join(LAYER_ACTIVATIONS)
        raise ValueError(
            f"activation: expected one of {known} (or a function from Value to Value), got {spec!r}"
        ) from None
    except TypeError:
        known = ", ".join(LAYER_ACTIVATIONS)
        raise TypeError(
            f"activation: expected a name ({known}) or a function from Value to Value, "
            f"got {describe(spec)}"
        ) from None


def _check_softmax_width(width: int, where: str) -> None:
    if width < 2:
        raise ValueError(
            f"{where}: softmax over a single output is always 1.0 (and passes no gradient); "
            "use 'sigmoid' for one output, or give the layer K >= 2 units for K classes"
        )


_MUL = Value.__mul__


def _micrograd_nonlin(activation: str | ActivationFn, nonlin: bool | None) -> str | ActivationFn:
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
    activation: ActivationFn
    _activation: str
    _act: ActivationFn | None

    def __init__(
        self,
        nin: int,
        activation: str | ActivationFn = "linear",
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


def _check_custom_activation(act: ActivationFn, described: str) -> None:
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
            ``"softmax"`` is a layer-wide activation: the neurons stay linear and their
            outputs z become softmax(z) (needs ``nout >= 2``).
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
    activation: str | ActivationFn
    bias: bool
    neurons: list[Neuron]

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str | ActivationFn = "linear",
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
        described = layer_activation_name(activation)
        if described == SOFTMAX:
            _check_softmax_width(nout, "Layer")
            activation = SOFTMAX
        chosen = init_name(init, described)
        source = random_source(seed)
        self.nin = nin
        self.nout = nout
        self.activation = activation
        self.bias = bias
        per_neuron = "linear" if described == SOFTMAX else activation
        self._softmax = described == SOFTMAX
        self.neurons = [
            Neuron(nin, per_neuron, bias, chosen, source, fan_out=nout) for _ in range(nout)
        ]

    def __call__(self, x: Sequence[Operand] | Any) -> Value | list[Value]:
        """The layer's outputs for one example: a Value if nout == 1, else a list."""
        out = self._forward(_inputs(x, self.nin))
        return out[0] if self.nout == 1 else out

    def _forward(self, x: Sequence[Operand]) -> list[Value]:
        out = [n._forward(x) for n in self.neurons]
        return softmax(out) if self._softmax else out

    def config(self) -> dict[str, Any]:  # noqa: D102
        return {
            "type": "Layer",
            "nin": self.nin,
            "nout": self.nout,
            "activation": layer_activation_name(self.activation),
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
        output_activation: The last layer's activation (None: linear, for logits/regression);
            ``"softmax"`` turns the K outputs into probabilities (for a loss on probabilities,
            such as ``"categorical_crossentropy"``).
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
    activation: str | ActivationFn
    output_activation: str | ActivationFn | None
    init: str
    dropout: float
    bias: bool
    layers: list[Layer | Dropout]

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str | ActivationFn = "relu",
        output_activation: str | ActivationFn | None = None,
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
        if output_activation is not None and layer_activation_name(output_activation) == SOFTMAX:
            _check_softmax_width(widths[-1], "MLP output_activation")
            output_activation = SOFTMAX
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
            "output_activation": None if out is None else layer_activation_name(out),
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


# -- the Keras spelling: Sequential, Dense, Activation ------------------------------------------


def _input_dim(input_dim: object, input_shape: object) -> int | None:
    """The number of inputs from Keras' ``input_dim=N`` or ``input_shape=(N,)``, or None."""
    if input_shape is not None:
        if input_dim is not None:
            raise ValueError("give input_dim or input_shape, not both")
        if not isinstance(input_shape, (tuple, list)):
            raise TypeError(
                f"input_shape: expected a tuple of one number of inputs, as (N,), got "
                f"{describe(input_shape)}"
            )
        if len(input_shape) != 1:
            raise ValueError(
                f"input_shape: expected one number of inputs, as (N,), got {tuple(input_shape)} "
                "(a Dense reads one flat list of numbers per example)"
            )
        return _width("input_shape[0]", input_shape[0])
    return None if input_dim is None else _width("input_dim", input_dim)


class Dense(Layer):
    """Keras' fully connected layer: ``Dense(units, input_dim=N)`` is a :class:`Layer`.

    ``units`` neurons read the same N inputs: z = W x + b, then the activation (none by
    default, as in Keras: add an :class:`Activation` after it, or pass ``activation=``). The
    weight matrix W is N x units, one row of N weights per neuron.

    The number of inputs may be left out: a :class:`Sequential` sets it to the width of the
    layer before when the Dense is added (Keras builds the layer then too), and the weights are
    drawn at that moment. Everything else is a Layer's: the neurons, the parameter names
    (``neurons.3.w.1``), the initialization (micrograd's uniform, ``init=``), the seeding
    (``seed=``, else the global ``random`` module), the pictures and ``to_torch``.

    Args:
        units: Number of neurons (outputs).
        activation: None (linear), a name from :data:`LAYER_ACTIVATIONS` (``"softmax"``
            included) or a function from Value to Value.
        use_bias: Whether the neurons have biases (Keras' name for a Layer's ``bias``).
        input_dim: Number of inputs; None: set by the Sequential the layer is added to.
        input_shape: Keras' other spelling of the inputs, ``(N,)``.
        init: Weight initialization, a name from :data:`INITS`; None picks by activation.
        seed: An int, a ``random.Random``, or None for the global ``random`` module.

    >>> Dense(4, input_dim=2, seed=0).num_parameters()  # 4 x 2 weights and 4 biases
    12
    >>> Dense(3)([1.0, 2.0])
    Traceback (most recent call last):
    ...
    ValueError: Dense(3) does not know its number of inputs yet, so it has no weights: ...
    """

    units: int
    input_dim: int | None

    def __init__(
        self,
        units: int,
        activation: str | ActivationFn | None = None,
        use_bias: bool = True,
        *,
        input_dim: int | None = None,
        input_shape: tuple[int] | None = None,
        init: str | None = "uniform",
        seed: Seed = None,
    ) -> None:
        units = _width("units", units)
        spec: str | ActivationFn = "linear" if activation is None else activation
        described = layer_activation_name(spec)
        if described == SOFTMAX:
            _check_softmax_width(units, f"Dense({units}, activation='softmax')")
            spec = SOFTMAX
        elif described.startswith("custom:"):
            _check_custom_activation(get_activation(spec), described)
        use_bias = flag("use_bias", use_bias)
        init_name(init, described)
        self.units = units
        self.input_dim = _input_dim(input_dim, input_shape)
        self.nout = units
        self.activation = spec
        self.bias = use_bias
        self._softmax = described == SOFTMAX
        self._init = init
        self._source = random_source(seed)
        self.neurons = []
        if self.input_dim is not None:
            self.build(self.input_dim)

    @property
    def built(self) -> bool:
        """Whether the layer knows its number of inputs, and so has its weights."""
        return self.input_dim is not None and len(self.neurons) == self.units

    def build(self, input_dim: int) -> None:
        """Draw the weights for ``input_dim`` inputs (what :meth:`Sequential.add` calls).

        Raises:
            ValueError: The layer already has weights for another number of inputs.
        """
        input_dim = _width("input_dim", input_dim)
        if self.built:
            if input_dim != self.nin:
                raise ValueError(
                    f"{self!r} takes {self.nin} inputs, so it cannot read {input_dim}: it is "
                    "already built (used in another model?)"
                )
            return
        Layer.__init__(
            self, input_dim, self.units, self.activation, self.bias, self._init, self._source
        )
        self.input_dim = input_dim

    def __call__(self, x: Sequence[Operand] | Any) -> Value | list[Value]:
        """The layer's outputs for one example: a Value if units == 1, else a list."""
        if not self.built:
            raise ValueError(
                f"{self!r} does not know its number of inputs yet, so it has no weights: give "
                "input_dim=N, or add it to a Sequential after another layer"
            )
        return super().__call__(x)

    def config(self) -> dict[str, Any]:  # noqa: D102
        return {
            "type": "Dense",
            "units": self.units,
            "input_dim": self.input_dim,
            "activation": layer_activation_name(self.activation),
            "bias": self.bias,
        }


class Activation(Module):
    """Keras' activation layer: one activation applied to every output of the layer before.

    ``Activation("tanh")`` applies tanh to each value, as a Layer's neurons would;
    ``Activation("softmax")`` turns the K values into probabilities (they read each other:
    :func:`~microgradnn.functional.softmax`). It has no parameters, except
    ``Activation("prelu")``: one learned slope shared by all its inputs (``torch.nn.PReLU()``).

    Args:
        activation: A name from :data:`LAYER_ACTIVATIONS` or a function from Value to Value.

    Attributes:
        activation: The function: Value -> Value, a :class:`PReLU`, or softmax (list -> list).

    >>> act = Activation("softmax")
    >>> act, [round(p.data, 4) for p in act([2.0, 0.0])]
    (Activation('softmax'), [0.8808, 0.1192])
    >>> Activation("nope")
    Traceback (most recent call last):
    ...
    ValueError: activation: expected one of linear, step, ..., prelu, softmax (or ...), got 'nope'
    """

    activation: Any
    _name: str

    def __init__(self, activation: str | ActivationFn) -> None:
        described = layer_activation_name(activation)
        if described == SOFTMAX:
            self.activation = softmax
        else:
            fn = get_activation(activation)
            if described.startswith("custom:"):
                _check_custom_activation(fn, described)
            self.activation = fn
        self._name = described

    @property
    def activation_name(self) -> str:
        """The activation's name in :data:`LAYER_ACTIVATIONS` (``custom:<name>`` for yours)."""
        return self._name

    @property
    def elementwise(self) -> bool:
        """Whether each output depends on its own input only (all but softmax)."""
        return self._name != SOFTMAX

    def __call__(self, x: Sequence[Operand] | Any) -> Value | list[Value]:
        """The activation of each value of ``x`` (a list, or one Value or number)."""
        if type(x) is Value or isinstance(x, numbers.Real):
            if not self.elementwise:
                raise ValueError("softmax reads a list of values (K >= 2), got a single one")
            return self._forward([x if type(x) is Value else float(x)])[0]
        if isinstance(x, np.ndarray):
            x = x.tolist()
        if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
            raise TypeError(f"Activation: expected a list of Values or numbers, got {describe(x)}")
        xs = list(x)
        for i, v in enumerate(xs):
            if type(v) is not Value and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
                raise TypeError(
                    f"Activation: input {i}: expected a Value or a number, got {describe(v)}"
                )
        return self._forward(xs)

    def _forward(self, xs: Sequence[Operand]) -> list[Value]:
        vs = [v if type(v) is Value else Value(float(v)) for v in xs]
        fn = self.activation
        if not self.elementwise:
            out: list[Value] = fn(vs)
            for p in out:
                p.label = "p"
            return out
        if fn is identity:
            return vs
        out = [fn(v) for v in vs]
        for a in out:
            a.label = "a"
        return out

    def config(self) -> dict[str, Any]:  # noqa: D102
        return {"type": "Activation", "activation": self._name}

    def __repr__(self) -> str:
        return describe_config(self.config())


class Sequential(Module):
    """A stack of layers, each one's outputs the next one's inputs: Keras' (and PyTorch's) model.

    Build it with a list, ``Sequential([Dense(4, input_dim=2), Activation("tanh")])``, or one
    layer at a time with :meth:`add`, as the lecture's Keras slide does. A :class:`Dense` without
    ``input_dim`` reads the width of the layer before. The layers may be Dense, Activation,
    Dropout, Layer, Neuron, MLP, another Sequential or any Module that maps a list of Values to a
    list. Called on one example, it returns a Value when the last layer has one output, else a
    list of Values (as an :class:`MLP`); ``fit``, ``predict``, ``draw_dot`` and ``to_torch``
    take it as they take an MLP.

    Parameters are named by position, ``layers.2.neurons.0.w.3`` (the MLP's scheme).

    Args:
        *layers: The layers in order, or one list of them.

    >>> import random
    >>> random.seed(0)
    >>> model = Sequential()
    >>> model.add(Dense(4, input_dim=2))  # weight matrix 2 x 4
    >>> model.add(Activation("tanh"))
    >>> model.add(Dense(3))  # weight matrix 4 x 3, its input size read from the layer before
    >>> model.add(Activation("softmax"))
    >>> len(model), model[2], model.num_parameters()
    (4, Dense(3, input_dim=4), 27)
    >>> round(sum(p.data for p in model([1.0, -1.0])), 12)
    1.0
    """

    layers: list[Module]
    _widths: list[int | None]

    def __init__(self, *layers: Module | Iterable[Module]) -> None:
        self._widths = []
        self.layers = []
        items: Iterable[Any] = layers
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            items = layers[0]
        for layer in items:
            self.add(layer)

    def add(self, layer: Module) -> None:
        """Append ``layer``; a Dense without ``input_dim`` is built for the width before it.

        Raises:
            TypeError: ``layer`` is not a Module (a class, say: ``Dense`` instead of
                ``Dense(4)``).
            ValueError: The first layer does not say how many inputs the model takes; the layer
                takes another number of inputs than the layer before gives; the layer before
                does not say its width, so a Dense cannot infer ``input_dim``; softmax over
                one output.
        """
        if not isinstance(layer, Module):
            hint = ""
            if isinstance(layer, type):
                hint = f" (the class itself: did you mean {layer.__name__}(...)?)"
            raise TypeError(
                "Sequential.add: expected a layer such as Dense(4) or Activation('tanh'), got "
                f"{describe(layer)}{hint}"
            )
        if layer is self or any(m is self for m in layer.modules()):
            raise ValueError("Sequential.add: a model cannot contain itself")
        position = len(self.layers)
        before = self._widths[-1] if self._widths else None
        if isinstance(layer, Dense) and not layer.built:
            if not self.layers:
                raise ValueError(
                    f"the first layer of a Sequential must say how many inputs the model takes: "
                    f"Dense({layer.units}, input_dim=N) for N inputs, got {layer!r} without "
                    "input_dim"
                )
            if before is None:
                raise ValueError(
                    f"layer {position} ({layer!r}): cannot infer input_dim, because the layer "
                    f"before ({self.layers[-1]!r}) does not say how many outputs it gives; "
                    "give input_dim"
                )
            layer.build(before)
        if isinstance(layer, (Activation, Dropout)):
            nin, nout = before, before
            if isinstance(layer, Activation) and not layer.elementwise and before is not None:
                _check_softmax_width(before, f"layer {position}, Activation('softmax')")
        else:
            nin, nout = io_sizes(layer)
        if not self.layers and nin is None:
            raise ValueError(
                "the first layer of a Sequential must say how many inputs the model takes, as "
                f"Dense(units, input_dim=N) does; got {layer!r}"
            )
        if before is not None and nin is not None and nin != before:
            raise ValueError(
                f"layer {position} ({layer!r}) takes {nin} inputs, but the layer before gives "
                f"{before}"
            )
        self._widths.append(nout)
        self.layers = [*self.layers, layer]

    @property
    def nin(self) -> int | None:
        """Number of inputs (the first layer's), None while the model is empty."""
        return io_sizes(self.layers[0])[0] if self.layers else None

    @property
    def nout(self) -> int | None:
        """Number of outputs (the last layer's width), None if empty or unknown."""
        return self._widths[-1] if self._widths else None

    def __call__(self, x: Sequence[Operand] | Any) -> Value | list[Value]:
        """The model's output for one example: a Value if it has one output, else a list."""
        nin = self.nin
        if nin is None:
            raise ValueError(
                "this Sequential has no layers yet: add some first, e.g. "
                "model.add(Dense(4, input_dim=2))"
            )
        out = self._forward(_inputs(x, nin))
        return out[0] if len(out) == 1 else out

    def _forward(self, x: Sequence[Operand]) -> list[Value]:
        for layer in self.layers:
            x = _layer_forward(layer, x)
        return x  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Module:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"Sequential index: expected an int, got {describe(index)}")
        if not -len(self.layers) <= int(index) < len(self.layers):
            raise IndexError(
                f"Sequential index {index} out of range: the model has {len(self.layers)} layers"
            )
        return self.layers[int(index)]

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def config(self) -> dict[str, Any]:  # noqa: D102
        return {"type": "Sequential", "layers": [layer.config() for layer in self.layers]}

    def __repr__(self) -> str:
        return describe_config(self.config())

    def to_torch(self) -> torch.nn.Sequential:
        """The same network as a float64 ``torch.nn.Sequential`` (Linear, Tanh, Softmax, ...).

        See :func:`microgradnn.torch_bridge.to_torch`.
        """
        from microgradnn import torch_bridge

        seq: torch.nn.Sequential = torch_bridge.to_torch(self)
        return seq

    @classmethod
    def from_torch(cls, seq: torch.nn.Module) -> Sequential:
        """Rebuild a Sequential, layer for module, from a ``torch.nn.Sequential``.

        See :func:`microgradnn.torch_bridge.sequential_from_torch`.
        """
        from microgradnn import torch_bridge

        return torch_bridge.sequential_from_torch(seq)


def _layer_forward(layer: Module, x: Sequence[Operand]) -> list[Any]:
    """One layer of a Sequential on a list of inputs, its outputs as a list."""
    if isinstance(layer, Neuron):
        return [layer._forward(x)]
    if isinstance(layer, (Layer, MLP, Sequential, Activation, Dropout)):
        return layer._forward(x)  # type: ignore[arg-type]
    out = layer(x)  # type: ignore[operator]
    if type(out) is Value:
        return [out]
    if isinstance(out, (list, tuple)):
        return list(out)
    raise TypeError(
        f"{layer.name or type(layer).__name__} returned {describe(out)}; a layer of a Sequential "
        "returns a Value or a list of Values"
    )


class FinalActivation(NamedTuple):
    """The last activation a model's outputs pass through (see :func:`final_activation`).

    Attributes:
        name: Its name in :data:`LAYER_ACTIVATIONS` (``"linear"`` for raw outputs).
        where: The module that applies it, e.g. ``layers.3, Activation('softmax')``.
        undo: How to take it away, e.g. ``drop the final Activation('softmax')``.
    """

    name: str
    where: str
    undo: str


def final_activation(model: object) -> FinalActivation | None:
    """The activation the model's outputs pass through last, read from its structure.

    A Sequential's last layer (Dropout and a linear Activation pass values through), a Dense's
    or a Layer's activation, an MLP's ``output_activation``, a Neuron's activation. None for a
    model of another kind, whose structure says nothing.

    >>> found = final_activation(Sequential(Dense(3, input_dim=2), Activation("softmax")))
    >>> found.name, found.where
    ('softmax', "layers.1, Activation('softmax')")
    >>> final_activation(MLP(2, [1], output_activation="sigmoid")).undo
    "build the MLP without output_activation='sigmoid'"
    """
    m = model
    while isinstance(m, Sequential):
        kept = [
            layer
            for layer in m.layers
            if not isinstance(layer, Dropout)
            and not (isinstance(layer, Activation) and layer.activation_name == "linear")
        ]
        if not kept:
            return None
        m = kept[-1]
    where = f"{m.name}, {m!r}" if isinstance(m, Module) and m.name else repr(m)
    if isinstance(m, Activation):
        return FinalActivation(m.activation_name, where, f"drop the final {m!r}")
    if isinstance(m, MLP):
        name = layer_activation_name(m.output_activation or "linear")
        return FinalActivation(name, where, f"build the MLP without output_activation={name!r}")
    if isinstance(m, Layer):
        name = layer_activation_name(m.activation)
        kind, arg = ("Dense", "activation") if isinstance(m, Dense) else ("Layer", "activation")
        return FinalActivation(name, where, f"build the last {kind} without {arg}={name!r}")
    if isinstance(m, Neuron):
        name = m.activation_name
        return FinalActivation(name, where, f"build the Neuron without activation={name!r}")
    return None


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
        is_output = key == "output_activation"
        none = " or None" if is_output else ""
        names = f"one of {', '.join(LAYER_ACTIVATIONS if is_output else ACTIVATIONS)}{none}"
        if not isinstance(name, str):
            raise TypeError(f"{key}: expected {names}, got {describe(name)}")
        try:
            described = layer_activation_name(name) if is_output else describe_activation(name)
            return described == "prelu"
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
    """``MLP(2, [16, 1], activation='relu')`` from a config, or its JSON if it is malformed.

    Each model is shown as the call that builds it: ``Dense(3, input_dim=4)``,
    ``Sequential([Dense(4, input_dim=2), Activation('tanh')])`` (one layer a line when long).
    """
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
        elif kind == "Dense":
            args = [repr(config["units"])]
            if config["activation"] != "linear":
                args.append(f"activation={config['activation']!r}")
            if not config["bias"]:
                args.append("use_bias=False")
            if config["input_dim"] is not None:
                args.append(f"input_dim={config['input_dim']!r}")
        elif kind == "Activation":
            args = [repr(config["activation"])]
        elif kind == "Sequential":
            layers = [describe_config(layer) for layer in config["layers"]]
            line = f"Sequential([{', '.join(layers)}])"
            if len(line) <= 100 or not layers:
                return line
            return "Sequential([\n" + "".join(f"    {layer},\n" for layer in layers) + "])"
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
