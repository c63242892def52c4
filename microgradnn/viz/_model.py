"""What the pictures need to know about a model: its parameters and each node's neuron.

Duck-typed on purpose (``model.layers[i].neurons[j].w / .b``, ``named_parameters()``), so the
pictures work with any object shaped like :class:`microgradnn.nn.MLP`, a single ``Layer`` or
``Neuron``, or a plain list of parameter Values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from microgradnn.engine import Value

__all__ = ["ModelInfo", "NeuronInfo", "assign_groups", "model_info"]


@dataclass
class NeuronInfo:
    """One neuron: where it sits and its parameters."""

    layer: int
    """Index among the model's layers that have neurons (0 = first hidden layer)."""
    index: int
    """Index of the neuron within its layer."""
    name: str
    """Dotted path in the model, e.g. ``layers.0.neurons.3``."""
    w: list[Value]
    b: Value | None
    activation: str

    @property
    def short(self) -> str:
        """A compact display name such as ``L0·N3``."""
        return f"L{self.layer}·N{self.index}"


@dataclass
class ModelInfo:
    """Parameters (by identity) with their dotted names, and the neurons, in model order."""

    param_names: dict[int, str] = field(default_factory=dict)
    neurons: list[NeuronInfo] = field(default_factory=list)
    layer_names: list[str] = field(default_factory=list)

    def is_param(self, v: Value) -> bool:
        """Whether ``v`` is one of the model's parameters."""
        return id(v) in self.param_names


def _activation_name(neuron: Any) -> str:
    config = getattr(neuron, "config", None)
    if callable(config):
        described = config().get("activation")
        if isinstance(described, str):
            return described
    act = getattr(neuron, "activation", "")
    if isinstance(act, str):
        return act
    return str(getattr(act, "name", None) or getattr(act, "__name__", None) or type(act).__name__)


def _neuron_layers(model: Any) -> list[tuple[str, Sequence[Any]]]:
    """``[(layer name, neurons), ...]`` for a model, a layer or a neuron."""
    layers = getattr(model, "layers", None)
    if layers is not None:
        out: list[tuple[str, Sequence[Any]]] = []
        for i, layer in enumerate(layers):
            neurons = getattr(layer, "neurons", None)
            if neurons is not None:
                name = getattr(layer, "name", "") or f"layers.{i}"
                out.append((str(name), list(neurons)))
        return out
    neurons = getattr(model, "neurons", None)
    if neurons is not None:
        return [(str(getattr(model, "name", "") or "layer"), list(neurons))]
    if hasattr(model, "w"):
        return [(str(getattr(model, "name", "") or "neuron"), [model])]
    return []


def model_info(model: object) -> ModelInfo:
    """Collect parameters and neurons from ``model`` (see the module docstring for shapes).

    Raises:
        TypeError: If ``model`` has no parameters we can find.
    """
    info = ModelInfo()
    if hasattr(model, "named_parameters"):
        for name, p in model.named_parameters():
            info.param_names[id(p)] = str(name)
    elif hasattr(model, "parameters"):
        for i, p in enumerate(model.parameters()):
            info.param_names[id(p)] = p.label or f"p{i}"
    elif isinstance(model, Iterable) and not isinstance(model, (str, bytes)):
        for i, p in enumerate(model):
            if type(p) is not Value:
                raise TypeError(
                    "model must be a Module (with parameters()) or a list of parameter Values; "
                    f"got a list holding {type(p).__name__}"
                )
            info.param_names[id(p)] = p.label or f"p{i}"
    else:
        raise TypeError(
            "model must be a Module (with parameters()) or a list of parameter Values; "
            f"got {type(model).__name__}"
        )
    for li, (lname, neurons) in enumerate(_neuron_layers(model)):
        info.layer_names.append(lname)
        for ni, neuron in enumerate(neurons):
            w = [p for p in getattr(neuron, "w", []) if type(p) is Value]
            b = getattr(neuron, "b", None)
            name = str(getattr(neuron, "name", "") or f"{lname}.neurons.{ni}")
            info.neurons.append(
                NeuronInfo(
                    li, ni, name, w, b if type(b) is Value else None, _activation_name(neuron)
                )
            )
    return info


def assign_groups(order: Sequence[Value], info: ModelInfo) -> list[int | None]:
    """For each node of a topologically ordered graph, its neuron's index in ``info.neurons``.

    None for nodes outside every neuron.

    Rules, from how a neuron computes ``a = act(Σ(w_i * x_i, b))``: a neuron's parameters belong
    to it; an op consuming one of its parameters (the products, the Σ with b) belongs to it; the
    node labeled ``"a"`` that consumes its Σ (labeled ``"z"``) is its activation; intermediate
    sums whose inputs all belong to the neuron and whose consumer does too (chained ``+``
    instead of one Σ) join it; a parameter used only inside one neuron (a PReLU slope) joins
    that neuron.
    """
    index = {id(v): i for i, v in enumerate(order)}
    owner: dict[int, int] = {}
    for k, n in enumerate(info.neurons):
        for param in [*n.w, *([n.b] if n.b is not None else [])]:
            owner.setdefault(id(param), k)
    groups: list[int | None] = [owner.get(id(v)) for v in order]
    consumers: list[list[int]] = [[] for _ in order]
    for i, v in enumerate(order):
        for p in v._prev:
            if type(p) is Value:
                consumers[index[id(p)]].append(i)
    for i, v in enumerate(order):
        if v._op is None or groups[i] is not None:
            continue
        inputs = [index[id(p)] for p in v._prev if type(p) is Value]
        if not inputs:
            continue
        owned = [groups[j] for j in inputs if id(order[j]) in owner]
        if owned:
            groups[i] = owned[0]
            continue
        first = inputs[0]
        if v.label == "a" and order[first].label == "z" and groups[first] is not None:
            groups[i] = groups[first]
            continue
        gs = {groups[j] for j in inputs}
        if v.label == "z" and len(gs) == 1 and None not in gs:
            groups[i] = gs.pop()
    for i in range(len(order) - 1, -1, -1):
        if groups[i] is not None:
            continue
        v = order[i]
        cons = {groups[c] for c in consumers[i]}
        if len(cons) != 1 or None in cons:
            continue
        g = next(iter(cons))
        if v._op is None:
            if id(v) in info.param_names:
                groups[i] = g
            continue
        ins = {groups[index[id(p)]] for p in v._prev if type(p) is Value}
        if ins == {g}:
            groups[i] = g
    return groups
