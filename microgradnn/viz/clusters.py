"""Which neuron and layer each node of a graph belongs to, found from the model's structure.

A model's neurons and layers are its sub-modules (:meth:`Module.named_modules
<microgradnn.module.Module.named_modules>`) that are a :class:`~microgradnn.nn.Neuron` or a
:class:`~microgradnn.nn.Layer` (a :class:`~microgradnn.nn.Dense` is a Layer); a neuron's
parameters are its weights ``n.w``, its bias ``n.b`` and, when its activation is a
:class:`~microgradnn.activations.PReLU`, that PReLU's slope ``alpha``.

The nodes of a graph are then assigned by structure, never by label. A neuron computes
``a = act(Σ(w_1 * x_1, ..., w_n * x_n, b))``, so:

- its parameters belong to it;
- an op node consuming one of its weights ``w_j`` is its product for input ``j``;
- its Σ is the node all of whose Value inputs are its products and bias;
- its activation is the consumer of its Σ whose op is the op of its activation's row in
  :data:`~microgradnn.activations.ACTIVATIONS`, or which reads its PReLU slope;
- any other op node consuming one of its parameters (an L2 term ``b**2``) belongs to it too.

A plain list of parameter Values is accepted as a model: it marks parameters and has no
neurons.

>>> from microgradnn import Value
>>> from microgradnn.nn import MLP
>>> model = MLP(2, [3, 1], activation="tanh", seed=0)
>>> info = model_info(model)
>>> [n.short for n in info.neurons], info.layer_names
(['L0.N0', 'L0.N1', 'L0.N2', 'L1.N0'], ['layers.0', 'layers.1'])
>>> out = model([Value(1.0), Value(2.0)])
>>> order = out.topological_order()
>>> groups = assign_groups(order, info)
>>> order[groups.output(3)] is out  # the output neuron is linear: its Σ is its output
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from microgradnn._checks import describe
from microgradnn.activations import ACTIVATIONS, ActivationInfo, PReLU
from microgradnn.engine import Value
from microgradnn.module import Module
from microgradnn.nn import SOFTMAX, Activation, Layer, Neuron, Sequential, layer_activation_name
from microgradnn.ops import OPS, Op

__all__ = ["ModelInfo", "NeuronInfo", "NodeGroups", "assign_groups", "graph_order", "model_info"]


_PATH = re.compile(r"(?:^|\.)layers\.(\d+)\.neurons\.(\d+)$")


@dataclass(frozen=True)
class NeuronInfo:
    """One neuron: where it sits, its parameters and its activation.

    Attributes:
        layer: Index among the model's layers (0 = first hidden layer).
        index: Index of the neuron within its layer.
        name: Dotted path in the model, e.g. ``layers.0.neurons.3``.
        w: Its weights, in input order.
        b: Its bias (None without bias).
        alpha: Its PReLU slope (None unless the activation is a PReLU).
        activation: Its activation's name (``Neuron.activation_name``).
        row: Its activation's row in :data:`~microgradnn.activations.ACTIVATIONS` (None for a
            custom activation).
    """

    layer: int
    index: int
    name: str
    w: tuple[Value, ...]
    b: Value | None
    alpha: Value | None
    activation: str
    row: ActivationInfo | None

    @property
    def short(self) -> str:
        """A compact display name such as ``L0.N3`` (the parameters are ``L0.N3.w1``, ...).

        It follows the neuron's path, so it matches its parameters' names: in
        ``Sequential([Dense(4), Activation("tanh"), Dense(3)])`` the second Dense is
        ``layers.2``, and its neurons are ``L2.N0``, ``L2.N1``, ... (``layer`` is still 1).
        """
        found = _PATH.search(self.name)
        if found is not None:
            return f"L{found[1]}.N{found[2]}"
        return f"L{self.layer}.N{self.index}"

    @property
    def op(self) -> Op | None:
        """The op its activation applies (None: linear, or a custom activation)."""
        if self.row is None or self.row.op is None:
            return None
        return OPS.get(self.row.op)

    @property
    def parameters(self) -> tuple[Value, ...]:
        """Its weights, then its bias and PReLU slope where it has them."""
        extra = tuple(p for p in (self.b, self.alpha) if p is not None)
        return self.w + extra


@dataclass
class ModelInfo:
    """A model's parameters (by identity) with their dotted names, and its neurons in order."""

    param_names: dict[int, str] = field(default_factory=dict)
    neurons: list[NeuronInfo] = field(default_factory=list)
    layer_names: list[str] = field(default_factory=list)

    def is_param(self, v: Value) -> bool:
        """Whether ``v`` is one of the model's parameters."""
        return id(v) in self.param_names


def _neuron_info(
    neuron: Neuron, layer: int, index: int, name: str, after: Activation | None = None
) -> NeuronInfo:
    """What a picture needs of one neuron; ``after``: the Activation layer that follows it."""
    act = neuron.activation if after is None else after.activation
    alpha = act.alpha if isinstance(act, PReLU) else None
    activation = neuron.activation_name if after is None else after.activation_name
    return NeuronInfo(
        layer=layer,
        index=index,
        name=name,
        w=tuple(neuron.w),
        b=neuron.b,
        alpha=alpha,
        activation=activation,
        row=ACTIVATIONS.get(activation),
    )


def _activations_after(modules: Sequence[tuple[str, Module]]) -> dict[int, Activation]:
    """Per linear Layer (by id) of a Sequential, the element-wise Activation right after it.

    ``Dense(4), Activation("tanh")`` computes what ``Layer(..., activation="tanh")`` does, so
    the tanh of each neuron's Σ is drawn as that neuron's activation. Softmax reads every
    output of the layer, so it belongs to no neuron and is not listed.
    """
    after: dict[int, Activation] = {}
    for _, m in modules:
        if not isinstance(m, Sequential):
            continue
        for layer, nxt in zip(m.layers, m.layers[1:], strict=False):
            if (
                isinstance(layer, Layer)
                and isinstance(nxt, Activation)
                and nxt.elementwise
                and nxt.activation_name != "linear"
                and all(n.activation_name == "linear" for n in layer.neurons)
                and layer_activation_name(layer.activation) != SOFTMAX
            ):
                after[id(layer)] = nxt
    return after


def _bad_model(what: str) -> TypeError:
    return TypeError(f"model: expected a Module or a list of parameter Values, got {what}")


def model_info(model: object) -> ModelInfo:
    """Parameters, neurons and layers of ``model``: a Module, or a list of parameter Values.

    The layers are the model's :class:`~microgradnn.nn.Layer` sub-modules (a
    :class:`~microgradnn.nn.Dense` is one) in :meth:`~microgradnn.module.Module.named_modules`
    order, each with its neurons in index order; neurons outside every Layer (a bare Neuron,
    or neurons your own Module holds) form one more layer after them. In a
    :class:`~microgradnn.nn.Sequential`, an element-wise :class:`~microgradnn.nn.Activation`
    right after a linear layer is its neurons' activation, as if the layer had it.

    Raises:
        TypeError: ``model`` is neither a Module nor a list of Values.
    """
    info = ModelInfo()
    if isinstance(model, Module):
        for name, p in model.named_parameters():
            info.param_names[id(p)] = name
        modules = model.named_modules()
        paths = {id(m): path for path, m in modules}
        placed: set[int] = set()
        after = _activations_after(modules)
        for path, m in modules:
            if not isinstance(m, Layer):
                continue
            layer = len(info.layer_names)
            info.layer_names.append(path or "layer")
            for i, neuron in enumerate(m.neurons):
                placed.add(id(neuron))
                name = paths.get(id(neuron)) or f"neurons.{i}"
                info.neurons.append(_neuron_info(neuron, layer, i, name, after.get(id(m))))
        loose = [(p, m) for p, m in modules if isinstance(m, Neuron) and id(m) not in placed]
        if loose:
            layer = len(info.layer_names)
            info.layer_names.append("neuron" if isinstance(model, Neuron) else "neurons")
            for i, (path, neuron) in enumerate(loose):
                info.neurons.append(_neuron_info(neuron, layer, i, path or "neuron"))
        return info
    if isinstance(model, Iterable) and not isinstance(model, (str, bytes)):
        for i, p in enumerate(model):
            if type(p) is not Value:
                raise _bad_model(f"a list holding {describe(p)}")
            info.param_names[id(p)] = p.label or f"p{i}"
        return info
    raise _bad_model(describe(model))


def graph_order(outputs: Sequence[Value]) -> list[Value]:
    """Every Value the outputs depend on, each after its inputs, each once (outputs included)."""
    order: list[Value] = []
    seen: set[int] = set()
    for out in outputs:
        for v in out.topological_order():
            if id(v) not in seen:
                seen.add(id(v))
                order.append(v)
    return order


@dataclass(frozen=True)
class NodeGroups:
    """Which neuron each node of a graph belongs to, and each neuron's Σ and activation nodes.

    A neuron called on several examples (a loss over a batch) has one Σ per call; its calls
    are numbered in graph order, which for a loss over ``[model(x) for x in X]`` is the order
    of the examples.

    Attributes:
        groups: Per node of the order, the index of its neuron in ``ModelInfo.neurons``, or
            None for nodes outside every neuron (inputs, the loss).
        sums: Per neuron, the positions of its Σ nodes (one per call of the neuron).
        activations: Per neuron, the positions of its activation nodes (none when linear).
        calls: Per node, which call of its neuron it belongs to (its products, Σ and
            activation); None for the neuron's parameters, for nodes outside every call (an L2
            term ``w*w``) and for nodes outside every neuron.
    """

    groups: list[int | None]
    sums: list[list[int]]
    activations: list[list[int]]
    calls: list[int | None]

    @property
    def examples(self) -> int:
        """How many times the most used neuron was called: the examples in the graph (0 if none)."""
        return max((len(s) for s in self.sums), default=0)

    def output(self, k: int) -> int | None:
        """The node neuron ``k`` hands on: its (last) activation, else its Σ; None if unused."""
        if self.activations[k]:
            return self.activations[k][-1]
        if self.sums[k]:
            return self.sums[k][-1]
        return None

    def members(self, k: int) -> list[int]:
        """The positions of neuron ``k``'s nodes."""
        return [i for i, g in enumerate(self.groups) if g == k]


def assign_groups(order: Sequence[Value], info: ModelInfo) -> NodeGroups:
    """Assign each node of a topologically ordered graph to its neuron (see the module doc)."""
    index = {id(v): i for i, v in enumerate(order)}
    count = len(info.neurons)
    weight_of: dict[int, int] = {}
    owner: dict[int, int] = {}
    alphas: dict[int, list[int]] = {}
    for pos, neuron in enumerate(info.neurons):
        for w in neuron.w:
            weight_of.setdefault(id(w), pos)
            owner.setdefault(id(w), pos)
        if neuron.b is not None:
            owner.setdefault(id(neuron.b), pos)
        if neuron.alpha is not None:
            alphas.setdefault(id(neuron.alpha), []).append(pos)
    for aid, users in alphas.items():
        if len(users) == 1:  # a slope shared by a layer's neurons belongs to none of them
            owner.setdefault(aid, users[0])
    groups: list[int | None] = [owner.get(id(v)) if v._op is None else None for v in order]
    product_of: dict[int, int] = {}
    sum_of: dict[int, int] = {}
    sums: list[list[int]] = [[] for _ in range(count)]
    acts: list[list[int]] = [[] for _ in range(count)]
    for i, v in enumerate(order):
        if v._op is None:
            continue
        ins = [index[id(p)] for p in v._prev if type(p) is Value]
        k = next((weight_of[id(order[j])] for j in ins if id(order[j]) in weight_of), None)
        if k is not None:
            groups[i] = product_of[i] = k
            continue
        k = next((product_of[j] for j in ins if j in product_of), None)
        if k is not None:
            bias = info.neurons[k].b
            if all(product_of.get(j) == k or order[j] is bias for j in ins):
                groups[i] = sum_of[i] = k
                sums[k].append(i)
                continue
        k = next((sum_of[j] for j in ins if j in sum_of), None)
        if k is not None:
            n = info.neurons[k]
            reads_alpha = n.alpha is not None and any(order[j] is n.alpha for j in ins)
            if reads_alpha or (n.op is not None and v._op is n.op):
                groups[i] = k
                acts[k].append(i)
                continue
        k = next((owner[id(order[j])] for j in ins if id(order[j]) in owner), None)
        if k is not None:
            groups[i] = k
    calls: list[int | None] = [None] * len(order)
    for k, positions in enumerate(sums):
        for c, s in enumerate(positions):
            calls[s] = c
            for p in order[s]._prev:
                j = index[id(p)] if type(p) is Value else None
                if j is not None and product_of.get(j) == k:
                    calls[j] = c
    for k, positions in enumerate(acts):
        for i in positions:
            z = next(index[id(p)] for p in order[i]._prev if sum_of.get(index.get(id(p), -1)) == k)
            calls[i] = calls[z]
    return NodeGroups(groups=groups, sums=sums, activations=acts, calls=calls)
