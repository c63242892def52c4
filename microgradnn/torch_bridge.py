"""The PyTorch bridge: an MLP or a Sequential as a ``torch.nn.Sequential``, and back.

torch is imported only when a function here is called (``pip install 'microgradnn[torch]'``).
Each activation's torch module comes from its row in :data:`~microgradnn.activations.ACTIVATIONS`;
an activation torch lacks (step, sign, hard_sigmoid) becomes a small module that applies the
op's PyTorch twin from the op table, so outputs and gradients agree.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from microgradnn._checks import describe
from microgradnn.activations import ACTIVATIONS, PReLU
from microgradnn.module import Module
from microgradnn.nn import (
    MLP,
    SOFTMAX,
    Activation,
    Dense,
    Dropout,
    Layer,
    Neuron,
    Sequential,
    layer_activation_name,
)
from microgradnn.ops import OPS

__all__ = ["from_torch", "sequential_from_torch", "to_torch"]

TORCH_HINT = "pip install 'microgradnn[torch]'"
_op_module: Any = None


def _torch(what: str) -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ImportError(f"{what} needs PyTorch: {TORCH_HINT}") from exc
    return torch


def _op_activation(torch: Any, name: str) -> Any:
    """A torch module that applies the op behind activation ``name`` (for ops torch.nn lacks)."""
    global _op_module
    if _op_module is None:

        class MicrogradnnActivation(torch.nn.Module):  # type: ignore[misc]
            """A microgradnn activation as a torch module, through the op's PyTorch twin."""

            def __init__(self, name: str) -> None:
                super().__init__()
                self.name = name
                twin = OPS[str(ACTIVATIONS[name].op)].torch
                if twin is None:
                    raise ValueError(f"activation {name!r} has no PyTorch twin in the op table")
                self._twin = twin

            def forward(self, x: Any) -> Any:
                return self._twin(torch, x)

            def extra_repr(self) -> str:
                return repr(self.name)

        _op_module = MicrogradnnActivation
    return _op_module(name)


def _activation_module(
    torch: Any, neurons: list[Neuron], where: str, shared: dict[int, Any]
) -> Any:
    """The torch module for the neurons' activation (None for linear)."""
    acts = [n.activation for n in neurons]
    if all(isinstance(a, PReLU) for a in acts):
        alphas = [a.alpha.data for a in acts if isinstance(a, PReLU)]
        if all(a is acts[0] for a in acts):
            return _shared_prelu(torch, acts[0], shared)
        module = torch.nn.PReLU(len(acts), dtype=torch.float64)
        with torch.no_grad():
            module.weight.copy_(torch.tensor(alphas, dtype=torch.float64))
        return module
    return _named_activation(torch, neurons[0].activation_name, where)


def _shared_prelu(torch: Any, act: Any, shared: dict[int, Any]) -> Any:
    """One ``torch.nn.PReLU()`` per PReLU object, so a slope shared here is shared there."""
    key = id(act)
    if key not in shared:
        shared[key] = torch.nn.PReLU(1, dtype=torch.float64)
        with torch.no_grad():
            shared[key].weight.fill_(act.alpha.data)
    return shared[key]


def _named_activation(torch: Any, name: str, where: str) -> Any:
    """The torch module for an activation name (None for linear)."""
    if name == SOFTMAX:
        return torch.nn.Softmax(dim=-1)
    row = ACTIVATIONS.get(name)
    if row is None:
        raise ValueError(f"{where}: activation {name!r} has no PyTorch equivalent")
    if row.op is None:
        return None
    if row.torch is not None:
        return getattr(torch.nn, row.torch)()
    return _op_activation(torch, name)


def _linear(torch: Any, neurons: list[Neuron], nin: int) -> Any:
    """A float64 ``torch.nn.Linear`` holding the neurons' weights (one row each) and biases."""
    f64 = torch.float64
    bias = neurons[0].b is not None
    linear = torch.nn.utils.skip_init(torch.nn.Linear, nin, len(neurons), bias=bias, dtype=f64)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in neurons], dtype=f64))
        if bias:
            linear.bias.copy_(
                torch.tensor([n.b.data for n in neurons if n.b is not None], dtype=f64)
            )
    return linear


def _torch_modules(torch: Any, model: Module, shared: dict[int, Any]) -> list[Any]:
    """The torch modules computing what ``model`` computes, in order."""
    out: list[Any] = []
    stack: list[Module] = [model]
    while stack:
        module = stack.pop()
        where = module.name or type(module).__name__
        if isinstance(module, (MLP, Sequential)):
            stack.extend(reversed(module.layers))
            continue
        if isinstance(module, Dropout):
            out.append(torch.nn.Dropout(module.p))
            continue
        if isinstance(module, Activation):
            act = module.activation
            if isinstance(act, PReLU):
                out.append(_shared_prelu(torch, act, shared))
            else:
                found = _named_activation(torch, module.activation_name, where)
                if found is not None:
                    out.append(found)
            continue
        if isinstance(module, (Layer, Neuron)):
            neurons = module.neurons if isinstance(module, Layer) else [module]
            out.append(_linear(torch, neurons, module.nin))
            act = _activation_module(torch, neurons, where, shared)
            if isinstance(module, Layer) and layer_activation_name(module.activation) == SOFTMAX:
                act = torch.nn.Softmax(dim=-1)
            if act is not None:
                out.append(act)
            continue
        raise ValueError(
            f"{where}: {type(module).__name__} has no PyTorch equivalent (to_torch knows Dense, "
            "Layer, Neuron, Activation, Dropout, MLP and Sequential)"
        )
    return out


def to_torch(model: MLP | Sequential) -> Any:
    """The same network as a float64 ``torch.nn.Sequential`` (Linear + activation modules).

    Weights are copied exactly, so both give the same outputs (to rounding). Per-neuron
    PReLU slopes become ``torch.nn.PReLU(num_parameters=n)``; one shared PReLU object
    (an ``Activation("prelu")`` too) becomes ``torch.nn.PReLU()``. step, sign and
    hard_sigmoid, which torch lacks, become a small module that computes them; softmax becomes
    ``torch.nn.Softmax(dim=-1)``. torch's PReLU with n slopes needs 2-D input (N, nin).
    A :class:`~microgradnn.nn.Sequential` becomes one flat torch Sequential: Dense -> Linear,
    Activation("tanh") -> Tanh, and so on.
    """
    torch = _torch(f"{type(model).__name__}.to_torch()")
    seq = torch.nn.Sequential(*_torch_modules(torch, model, {}))
    seq.train(model.training)
    return seq


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

    @classmethod
    def read(cls, torch: Any, linear: Any) -> _LinearSpec:
        """A ``torch.nn.Linear``'s weights and biases, as float64 numbers."""
        weight = linear.weight.detach().to(torch.float64).tolist()
        bias = None if linear.bias is None else linear.bias.detach().to(torch.float64).tolist()
        return cls(weight, bias)

    def write(self, neurons: list[Neuron]) -> None:
        """Give the neurons these numbers: ``weight[j]`` and ``bias[j]`` are neuron j's."""
        for j, neuron in enumerate(neurons):
            for w, value in zip(neuron.w, self.weight[j], strict=True):
                w.data = value
            if neuron.b is not None and self.bias is not None:
                neuron.b.data = self.bias[j]


_BY_TORCH_NAME = {row.torch: row.name for row in ACTIVATIONS.values() if row.torch is not None}


_SUPPORTED = (
    "Linear, ReLU, Tanh, Sigmoid, LeakyReLU(0.01), PReLU, Softmax(dim=-1), Identity, Dropout"
)


def _modules(torch: Any, seq: Any) -> list[Any]:
    """The modules of a torch Sequential in order, nested Sequentials opened."""
    if not isinstance(seq, torch.nn.Module):
        raise TypeError(f"from_torch: expected a torch.nn.Sequential, got {describe(seq)}")

    def flatten(module: Any) -> Iterator[Any]:
        if isinstance(module, torch.nn.Sequential):
            for child in module:
                yield from flatten(child)
        else:
            yield module

    return list(flatten(seq))


def _activation_name(torch: Any, module: Any, i: int) -> str:
    """The activation a torch module applies, by its name in ACTIVATIONS (PReLU aside)."""
    kind = type(module).__name__
    if isinstance(module, torch.nn.LeakyReLU):
        if module.negative_slope != 0.01:
            raise ValueError(
                f"module {i}: LeakyReLU slope {module.negative_slope} (microgradnn's "
                "leaky_relu uses 0.01)"
            )
        return "leaky_relu"
    if isinstance(module, torch.nn.Softmax):
        if module.dim not in (-1, 1):
            raise ValueError(
                f"module {i}: Softmax(dim={module.dim}); microgradnn's softmax reads the "
                "outputs of one example, Softmax(dim=-1)"
            )
        return SOFTMAX
    if kind in _BY_TORCH_NAME:
        return _BY_TORCH_NAME[kind]
    if kind == "MicrogradnnActivation":
        return str(module.name)
    raise ValueError(f"from_torch does not know {kind} (module {i}); it knows {_SUPPORTED}")


def _parse(torch: Any, seq: Any) -> list[_LinearSpec]:
    specs: list[_LinearSpec] = []
    for i, module in enumerate(_modules(torch, seq)):
        kind = type(module).__name__
        if isinstance(module, torch.nn.Linear):
            specs.append(_LinearSpec.read(torch, module))
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
        else:
            spec.activation = _activation_name(torch, module, i)
    if not specs:
        raise ValueError("from_torch found no torch.nn.Linear layer")
    return specs


def from_torch(seq: Any) -> MLP:
    """Rebuild an MLP from a ``torch.nn.Sequential`` of Linear layers and activations.

    Understands Linear, ReLU, Tanh, Sigmoid, LeakyReLU (slope 0.01), PReLU, Softmax(dim=-1)
    after the last Linear, Identity, Dropout (after the activation) and what :func:`to_torch`
    writes for an MLP. Every hidden layer must use the same activation. A
    ``torch.nn.PReLU()`` with one shared slope becomes one slope per neuron, each starting at
    that value: the outputs are the same, and training then adjusts each neuron's slope on its
    own.
    """
    torch = _torch("MLP.from_torch()")
    linears = _parse(torch, seq)
    for i in range(1, len(linears)):
        if linears[i].nin != linears[i - 1].nout:
            raise ValueError(
                f"Linear layer {i} takes {linears[i].nin} inputs but layer {i - 1} gives "
                f"{linears[i - 1].nout}"
            )
    hidden = {spec.activation for spec in linears[:-1]}
    if SOFTMAX in hidden:
        raise ValueError("an MLP has softmax only after its last Linear layer, not a hidden one")
    if len(hidden) > 1:
        found = ", ".join(f"{s.activation} after layer {i}" for i, s in enumerate(linears[:-1]))
        raise ValueError(
            f"an MLP uses one activation for every hidden layer, got {found} "
            "(Sequential.from_torch keeps each layer's own)"
        )
    drops = {spec.dropout for spec in linears[:-1]}
    if len(drops) > 1:
        raise ValueError(f"an MLP uses one dropout after every hidden layer, got {sorted(drops)}")
    if linears[-1].dropout:
        raise ValueError("an MLP has no dropout after its output layer")
    if len({spec.bias is not None for spec in linears}) > 1:
        raise ValueError("an MLP has biases in every layer or in none")
    out_act = linears[-1].activation
    model = MLP(
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
        spec.write(layer.neurons)
        for j, neuron in enumerate(layer.neurons):
            if spec.alphas is not None and isinstance(neuron.activation, PReLU):
                neuron.activation.alpha.data = spec.alphas[j % len(spec.alphas)]
    model.train(bool(seq.training))
    return model


def sequential_from_torch(seq: Any) -> Sequential:
    """Rebuild a :class:`~microgradnn.nn.Sequential`, layer for module, from a torch Sequential.

    For what an MLP cannot hold: another activation after each layer, dropout anywhere, a layer
    without biases. Each ``Linear`` becomes a :class:`~microgradnn.nn.Dense` holding its
    weights (torch's ``weight[j]`` is neuron j's), each activation an
    :class:`~microgradnn.nn.Activation`, each ``Dropout`` a Dropout of the same ``p``;
    ``Identity`` is left out and nested Sequentials are opened. A ``PReLU(n)`` with one slope
    per output of the Linear before it becomes that Dense's per-neuron slopes, a ``PReLU()``
    one shared ``Activation("prelu")``. Understands the modules :func:`from_torch` does,
    anywhere in the stack, and what :func:`to_torch` writes for a Sequential.
    """
    torch = _torch("Sequential.from_torch()")
    modules = [m for m in _modules(torch, seq) if not isinstance(m, torch.nn.Identity)]
    if not modules or not isinstance(modules[0], torch.nn.Linear):
        first = type(modules[0]).__name__ if modules else "nothing"
        raise ValueError(
            f"Sequential.from_torch expects a torch.nn.Linear first (it says how many inputs "
            f"the model takes), got {first}"
        )
    dropout_seeds = random.Random(0)  # reproducible masks, a different one for each Dropout
    layers: list[Module] = []
    for i, module in enumerate(modules):
        if isinstance(module, torch.nn.Linear):
            after = modules[i + 1] if i + 1 < len(modules) else None
            per_neuron = isinstance(after, torch.nn.PReLU) and after.num_parameters > 1
            dense = Dense(
                module.out_features,
                activation="prelu" if per_neuron else None,
                use_bias=module.bias is not None,
                input_dim=module.in_features,
                seed=0,
            )
            _LinearSpec.read(torch, module).write(dense.neurons)
            layers.append(dense)
        elif isinstance(module, torch.nn.Dropout):
            layers.append(Dropout(float(module.p), seed=dropout_seeds))
        elif isinstance(module, torch.nn.PReLU):
            alphas = module.weight.detach().to(torch.float64).tolist()
            before = modules[i - 1]
            if len(alphas) > 1:
                if not isinstance(before, torch.nn.Linear) or before.out_features != len(alphas):
                    width = before.out_features if isinstance(before, torch.nn.Linear) else None
                    raise ValueError(
                        f"module {i}: PReLU with {len(alphas)} slopes needs a Linear of "
                        f"{len(alphas)} outputs just before it, got "
                        f"{type(before).__name__}{f' of {width}' if width else ''}"
                    )
                built = layers[-1]  # the Dense of that Linear, built with per-neuron slopes
                assert isinstance(built, Dense)
                for neuron, alpha in zip(built.neurons, alphas, strict=True):
                    slope = neuron.activation
                    assert isinstance(slope, PReLU)
                    slope.alpha.data = alpha
            else:
                act = Activation("prelu")
                act.activation.alpha.data = alphas[0]
                layers.append(act)
        else:
            layers.append(Activation(_activation_name(torch, module, i)))
    model = Sequential(layers)
    model.train(bool(seq.training))
    return model
