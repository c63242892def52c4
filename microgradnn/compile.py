r"""Compile one example's Value graph into a handful of batched numpy operations.

The eager engine builds a fresh graph of Python objects for every example of every step. Yet
for an MLP, every example builds the *same* graph: only the numbers differ. So we can

1. **trace** the graph once, on a placeholder example: the inputs and targets become placeholder
   Values, the parameters are recognised by identity, and every other leaf or plain number is a
   constant;
2. **replay** it for a whole batch at once: each scalar node becomes a vector over the batch
   (one row of a ``(n_nodes, B)`` matrix), and the forward and backward passes become a fixed
   list of array operations.

The replay is *level-scheduled*: nodes at the same depth that apply the same op (say, the 512
multiplications ``w_ij * x_j`` of a layer) are gathered into one numpy call. The number of numpy
calls therefore grows with the depth of the network, not with its size. Every array operation
comes from the op table (:attr:`Op.np_forward <microgradnn.ops.Op>` and ``Op.np_local``), so the
compiled path uses the same calculus as ``backward()``: for each node and input,
``grad[input] += local * grad[node]``, vectorised over the batch and over the group.

Parameter gradients are averaged over the batch and *added* into each parameter's ``.grad``, as
``loss.backward()`` on the batch's mean loss would, so optimizers and ``fit`` work unchanged.

The graph must not depend on the data. Tracing runs ``fn`` on two different placeholder examples
and compares the graphs: an ``if`` on a ``.data`` value, or a constant that differs between the
two (such as an active Dropout mask), raises :class:`CompileError`.

>>> from microgradnn import Value
>>> w, b = Value(2.0), Value(0.5)
>>> g = trace(lambda xs, ys: (w * xs[0] + b - ys[0]) ** 2, 1, 1, [w, b])
>>> g.loss_and_grad([[1.0], [2.0]], [[2.0], [4.0]])  # mean of 0.5**2 and 0.5**2
0.25
>>> w.grad, b.grad  # mean of 2 * 0.5 * x, and of 2 * 0.5
(1.5, 1.0)
"""

# X and Y are the batch matrices, named as in scikit-learn and the rest of the package.
# ruff: noqa: N803, N806

from __future__ import annotations

import functools
import math
import operator
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Union, overload

import numpy as np
from numpy.typing import NDArray

from microgradnn._checks import describe, integer
from microgradnn.engine import (
    CompileError,
    Value,
    all_values,
    collector_paused,
    is_grad_enabled,
    no_grad,
    peek,
    tracing,
)
from microgradnn.losses import get_loss
from microgradnn.ops import BUILTINS, OPS, Op, find

__all__ = [
    "ArrayOp",
    "CompileError",
    "CompiledGraph",
    "check_mean_loss",
    "compile_model",
    "numbers_of",
    "trace",
]

Array = NDArray[np.float64]
Index = NDArray[np.intp]
Outputs = Union[Value, float, Sequence[Union[Value, float]]]
TraceFn = Callable[[list[Value], list[Value]], Outputs]

# A reference to what feeds a node: ("x", i) input i, ("y", j) target j, ("p", k) parameter k,
# ("n", m) interior node m (in trace order), ("c", value) a constant.
Ref = tuple[str, Any]


# ---------------------------------------------------------------------------------------------
# Tracing: record one example's graph as a list of (op, arg, input references).


class _Node(NamedTuple):
    op: Op
    inputs: tuple[Ref, ...]


@dataclass(frozen=True)
class _Graph:
    nodes: list[_Node]
    outputs: list[Ref]
    constants: list[str]  # float.hex of each constant as the trace met it


def _same_number(a: Any, b: Any) -> bool:
    """Equal as recorded constants: bit-for-bit, so nan matches nan and 0.0 differs from -0.0."""
    if type(a) is float and type(b) is float:
        return a.hex() == b.hex()
    return bool(a == b)


def _same_ref(a: Ref, b: Ref) -> bool:
    return a[0] == b[0] and _same_number(a[1], b[1])


def _describe(node: _Node) -> str:
    return node.op.name


def _describe_ref(r: Ref) -> str:
    kind, v = r
    names = {"x": f"input xs[{v}]", "y": f"target ys[{v}]", "p": f"parameter {v}"}
    return names.get(kind, f"node {v}" if kind == "n" else f"the constant {v!r}")


class _Tracer:
    """Refuses every read of a traced number while ``fn`` runs: the replay could not follow it.

    A Value is traced when it depends on the example (an input or a target) or on a parameter:
    its number differs from example to example, or from step to step, so Python code that reads
    it (``.data``, ``if``, ``bool()``, ``float()``, a comparison) could take another branch, or
    freeze another constant, than the one recorded. Values that depend on neither are constants
    of the graph and may be read freely.
    """

    def __init__(self, leaves: list[Value], params: dict[int, Any]) -> None:
        self._traced: dict[int, bool] = {id(v): True for v in leaves}
        self._traced.update(dict.fromkeys(params, True))

    def _is_traced(self, value: Value) -> bool:
        known = self._traced
        stack = [value]
        while stack:
            v = stack[-1]
            if id(v) in known:
                stack.pop()
                continue
            pending = [p for p in v._prev if type(p) is Value and id(p) not in known]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            known[id(v)] = any(known[id(p)] for p in v._prev if type(p) is Value)
        return known[id(value)]

    def read(self, value: Value) -> float:
        if not self._is_traced(value):
            return peek(value)
        what = f"{value.label!r}" if value.label else "a Value"
        where = _user_frame()
        raise CompileError(
            f"{where}the traced code reads the number of {what}, which depends on the example or "
            "on a parameter (.data, if, bool(), float() or a comparison): one trace cannot follow "
            "a branch or a constant taken on it for other examples or later steps, so the compiled "
            "replay would give other numbers than eager; write it with Value ops only (e.g. relu "
            "or abs instead of an if), or use compiled=False"
        )


def _user_frame() -> str:
    """``file.py:12: `` for the innermost caller outside microgradnn, or ""."""
    frame = sys._getframe(2)
    package = os.path.dirname(os.path.abspath(__file__))
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(package + os.sep):
            return f"{os.path.basename(path)}:{frame.f_lineno}: "
        frame = frame.f_back  # type: ignore[assignment]
    return ""


def _record(fn: TraceFn, xs: list[float], ys: list[float], param_refs: dict[int, Ref]) -> _Graph:
    """Run ``fn`` on one placeholder example and record its graph.

    ``param_refs`` maps ``id(p)`` of each parameter to its reference, ``("p", k)``.
    """
    inputs = [Value(v, label=f"x{i}") for i, v in enumerate(xs)]
    targets = [Value(v, label=f"y{j}") for j, v in enumerate(ys)]
    with tracing(_Tracer([*inputs, *targets], param_refs)):
        result = fn(inputs, targets)
    single = not isinstance(result, list | tuple)
    outputs: list[Any] = [result] if single else list(result)  # type: ignore[arg-type]
    for i, out in enumerate(outputs):
        if type(out) is not Value and not isinstance(out, int | float):
            what = "fn's result" if single else f"fn's output {i}"
            raise TypeError(f"{what}: expected a Value or a number, got {describe(out)}")

    refs = dict(param_refs)
    refs.update({id(v): ("x", i) for i, v in enumerate(inputs)})
    refs.update({id(v): ("y", j) for j, v in enumerate(targets)})
    known = refs.get
    nodes: list[_Node] = []

    constants: list[str] = []  # every constant read, in order, bit for bit (for _compare)

    def ref(v: Any) -> Ref:
        if type(v) is not Value:
            c = float(v)
        else:
            found = known(id(v))
            if found is not None:
                return found
            c = peek(v)
        constants.append(c.hex())
        return ("c", c)

    node = tuple.__new__  # _Node(op, inputs) without NamedTuple's Python-level __new__
    for m, value in enumerate(_postorder(outputs)):
        refs[id(value)] = ("n", m)
        # value._prev, read from the engine's two slots (see engine._node) without building it:
        # this loop runs once per node of the trace. A float input is never in refs (a live
        # float and a live Value have other ids).
        b = value._b
        if b is ...:
            ins = tuple([known(id(p)) or ref(p) for p in value._a])
        elif b is None:
            a = value._a
            ins = (known(id(a)) or ref(a),)
        else:
            a = value._a
            ins = (known(id(a)) or ref(a), known(id(b)) or ref(b))
        nodes.append(node(_Node, (value._op, ins)))
    return _Graph(nodes, [ref(o) for o in outputs], constants)


def _postorder(outputs: Sequence[Any]) -> list[Value]:
    """The op nodes reached from ``outputs``, each after its inputs (iterative depth-first).

    An op node whose op inputs are all listed already (a product w·x of a weight and an input
    or a listed unit: most of a network) is listed at once, without being opened.
    """
    order: list[Value] = []
    seen: set[Value] = set()
    for root in outputs:
        if type(root) is not Value or root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root._prev))]
        while stack:
            value, prev = stack[-1]
            for child in prev:
                if type(child) is Value and child._op is not None and child not in seen:
                    seen.add(child)
                    grandchildren = child._prev
                    for g in grandchildren:
                        if type(g) is Value and g._op is not None and g not in seen:
                            stack.append((child, iter(grandchildren)))
                            break
                    else:
                        order.append(child)
                        continue
                    break
            else:
                stack.pop()
                if value._op is not None:
                    order.append(value)
    return order


def _compare(first: _Graph, second: _Graph) -> None:
    """Raise CompileError at the first node where two traces of the same fn differ."""
    # The usual case, at C speed: == on the nodes is exact but for a constant 0.0 against
    # -0.0 (and nan, which never equals itself), and the constants' bits settle that.
    if (
        first.nodes == second.nodes
        and first.constants == second.constants
        and first.outputs == second.outputs
    ):
        return
    advice = (
        "the graph depends on the example's data (an `if` on a .data value, or a number read "
        "from .data), so one trace cannot stand for the batch"
    )
    for m, (a, b) in enumerate(zip(first.nodes, second.nodes, strict=False)):
        if a.op is not b.op or len(a.inputs) != len(b.inputs):
            raise CompileError(
                f"the graph differs between two examples at node {m}: one computes "
                f"{_describe(a)!r}, the other {_describe(b)!r}; {advice}"
            )
        for i, (ra, rb) in enumerate(zip(a.inputs, b.inputs, strict=True)):
            if _same_ref(ra, rb):
                continue
            if ra[0] == rb[0] == "c":
                raise CompileError(
                    f"a constant differs between two examples at node {m} ({_describe(a)!r}, "
                    f"input {i}): {ra[1]!r} vs {rb[1]!r}; random or data-dependent constants "
                    "(an active Dropout mask, a value read from .data) cannot be compiled"
                )
            raise CompileError(
                f"the graph differs between two examples at node {m} ({_describe(a)!r}): "
                f"its input {i} is {_describe_ref(ra)} in one and {_describe_ref(rb)} in the "
                f"other; {advice}"
            )
    if len(first.nodes) != len(second.nodes):
        longer = first if len(first.nodes) > len(second.nodes) else second
        extra = longer.nodes[min(len(first.nodes), len(second.nodes))]
        raise CompileError(
            f"the graph differs between two examples: one has {len(first.nodes)} nodes, the "
            f"other {len(second.nodes)}, the first extra one computes {_describe(extra)!r}; "
            f"{advice}"
        )
    if len(first.outputs) != len(second.outputs) or not all(
        _same_ref(a, b) for a, b in zip(first.outputs, second.outputs, strict=True)
    ):
        raise CompileError(f"the outputs differ between two examples; {advice}")


# ---------------------------------------------------------------------------------------------
# Dense layers: find each neuron's w_1·u_1 + ... + w_n·u_n + b in the traced graph.


@dataclass
class _Neuron:
    """One node that computes Σ_j w_j·u_j (+ b) (+ constants): a row of a layer's W·x + b.

    Found on the traced graph, whoever built it: a Neuron's Σ node, or a chain of ``+`` as
    Python's ``sum()`` builds, over products of a parameter and something that is not one.
    """

    root: int  # the node holding the sum: a Σ, or the last + of a chain
    weights: list[tuple[int, Ref]]  # (parameter, input) per product w·u
    bias: int | None  # a parameter added as it is
    const: float  # the constants added (0.0 when none)
    absorbed: list[int]  # the other nodes the matmul computes: the products, a chain's inner +
    inner: list[int]  # of these, a chain's inner +
    inputs: list[Ref]  # the u of each product, in the order of weights
    key: frozenset[Ref]  # the inputs as _ref_key gives them: the neurons of a layer share it
    const_input: bool  # some u is a constant (its key differs from the Ref then)
    columns: list[int] = field(default_factory=list)  # the parameter for each column of W


_kind = operator.itemgetter(0)  # a Ref's kind: "x", "y", "p", "c" or "n"
_op_attr = operator.attrgetter("_op")  # None for a leaf Value


def _ref_key(r: Ref) -> Ref:
    """A hashable key that tells constants apart bit for bit (nan included)."""
    return (r[0], float(r[1]).hex()) if r[0] == "c" else r


def _find_neurons(graph: _Graph) -> list[_Neuron]:
    """Every Σ w·u + b of the graph whose products and partial sums feed nothing else.

    A product is ``w * u`` or ``u * w`` with ``w`` a parameter and ``u`` not one (an input, a
    constant or a computed node). A sum qualifies when each of its terms is a parameter (the
    bias: at most one), a constant, such a product, or a smaller such sum, used by it alone;
    it has a product, and no input ``u`` twice. Anything else (a skip connection ``h + Σ``,
    ``w * w``, a product also used elsewhere) stays a scalar node of the gathered replay.
    """
    mul, add, total = find(infix="*"), find(infix="+"), find(method="sum")
    if not (mul.plain and add.plain and total.plain):
        return []
    nodes = graph.nodes
    uses = [0] * len(nodes)
    for node in nodes:
        for kind, v in node.inputs:
            if kind == "n":
                uses[v] += 1
    for kind, v in graph.outputs:
        if kind == "n":
            uses[v] += 1

    product: list[tuple[int, Ref] | None] = [None] * len(nodes)
    linear = [False] * len(nodes)
    for m, node in enumerate(nodes):
        op = node.op
        if op is mul and uses[m] == 1:
            a, b = node.inputs
            if a[0] == "p" and b[0] != "p":
                product[m] = (a[1], b)
            elif b[0] == "p" and a[0] != "p":
                product[m] = (b[1], a)
        elif op is add or op is total:
            linear[m] = all(
                kind in ("p", "c")
                or (kind == "n" and uses[v] == 1 and (linear[v] or product[v] is not None))
                for kind, v in node.inputs
            )

    # Outermost sums first (a node comes after its inputs in trace order): a sum that does not
    # qualify as a whole leaves its inner sums to be tried on their own.
    claimed = [False] * len(nodes)
    neurons: list[_Neuron] = []
    for m in reversed(range(len(nodes))):
        if not linear[m] or claimed[m]:
            continue
        weights: list[tuple[int, Ref]] = []
        biases: list[int] = []
        consts: list[float] = []
        absorbed: list[int] = []
        inner: list[int] = []
        stack = [m]
        while stack:
            for kind, v in nodes[stack.pop()].inputs:
                if kind == "p":
                    biases.append(v)
                elif kind == "c":
                    consts.append(float(v))
                elif product[v] is not None:
                    weights.append(product[v])  # type: ignore[arg-type]
                    absorbed.append(v)
                else:
                    stack.append(v)
                    absorbed.append(v)
                    inner.append(v)
        inputs = [u for _, u in weights]
        const_input = "c" in map(_kind, inputs)
        keys = frozenset(map(_ref_key, inputs) if const_input else inputs)
        if not weights or len(biases) > 1 or len(keys) != len(weights):
            continue
        for v in absorbed:
            claimed[v] = True
        bias = biases[0] if biases else None
        neurons.append(
            _Neuron(
                m, weights, bias, sum(consts, 0.0), sorted(absorbed), inner, inputs, keys,
                const_input,
            )
        )  # fmt: skip
    neurons.reverse()
    return neurons


# ---------------------------------------------------------------------------------------------
# Scheduling: group nodes by (depth, op, arity), and neurons by their inputs, into array ops.


Rows = Union[slice, Index]


def _as_slice(idx: Index) -> Rows:
    """``idx`` as a slice when it is a run of consecutive rows: a view instead of a copy."""
    n = len(idx)
    if n == 0:
        return idx
    first = int(idx[0])
    if int(idx[-1]) - first != n - 1:
        return idx
    # A short run is checked in Python (a numpy call costs more than its work there).
    short = n <= 64
    if idx.tolist() == list(range(first, first + n)) if short else np.all(np.diff(idx) == 1):
        return slice(first, first + n)
    return idx


def _distinct(idx: Index) -> bool:
    return len(np.unique(idx)) == len(idx)


@dataclass
class _Group:
    """Nodes at one depth that apply the same op: one gathered numpy call forward."""

    op: Op
    start: int  # the group's nodes own rows start:stop of the value matrix
    stop: int
    block: Index  # (arity, n): the rows that feed input position j of each node
    # Backward: the edges (position-major: edge = j * n + node) that carry gradient into a row
    # that needs it, in buckets (m, count, rows, edges): each of the bucket's count rows is fed
    # by m edges.
    buckets: list[tuple[int, int, Rows, Rows]] = field(default_factory=list)
    # The local derivatives when the op's rule gives plain numbers (add, sub, Σ: the same for
    # every example), as an (arity, 1, 1) array: known after the first backward pass.
    constant_local: Array | None = None
    local_checked: bool = False
    positions: tuple[int, ...] = ()  # input positions with at least one such edge
    views: tuple[slice, ...] | None = None  # per position, when every one is a run of rows
    # The built-in variadic rows (Σ, logsumexp) take the gathered (arity, n, batch) block as
    # it is, one array instead of a tuple of its rows: a reduction over axis 0, no copy.
    stacked: bool = False
    whole: slice | None = None  # the block's rows, when they are one run (position-major)


@dataclass
class _Dense:
    """Neurons that read the same inputs: Z = W·U + b, one matmul forward and two backward.

    ``U`` holds the inputs' rows (``n_in × batch``), ``W`` the weights (``n_out × n_in``)
    read from the parameter vector, ``Z`` the sums' rows (``n_out × batch``). Backward:
    ``dU = Wᵀ·dZ``, ``dW = dZ·Uᵀ`` (summed over the batch by the product), ``db = Σ dZ``.
    """

    start: int  # the neurons' sums own rows start:stop
    stop: int
    inputs: Rows  # the rows of U
    n_in: int
    weights: Rows  # into the parameter vector: W's entries, row-major
    weights_distinct: bool
    bias: Rows | None  # into the parameter vector (the zero slot for a neuron without one)
    bias_distinct: bool
    const: Array | None  # (n_out, 1): the constants of each sum, None if there are none
    input_grad: bool  # whether some input row needs a gradient


Step = Union[_Group, _Dense]


@dataclass(frozen=True)
class ArrayOp:
    """One array operation of the replay and the scalar nodes of one example it computes.

    Attributes:
        index: Its position in the forward replay (0 first).
        kind: ``"matmul"`` for a dense layer's W·x + b, else the op's name (``"relu"``).
        level: Its depth in the replay (1: reads only inputs, parameters and constants).
        nodes: The scalar op nodes of one example it computes, per op name
            (``{"mul": 32, "sum": 16}``).
        shape: A matmul's ``(neurons, inputs)``, i.e. W's shape; else ``(nodes, inputs of
            each)``.
        bias: A matmul adds a bias (b) to its neurons.
        layer: A matmul's number among the matmuls (1 first); 0 for the others.
    """

    index: int
    kind: str
    level: int
    nodes: dict[str, int]
    shape: tuple[int, int]
    bias: bool = False
    layer: int = 0

    @property
    def n_nodes(self) -> int:
        """How many scalar nodes of one example this array op computes."""
        return sum(self.nodes.values())

    def describe(self, batch: int | None = None) -> str:
        """One line: which scalar nodes become which array operation, for ``batch`` rows."""
        B = "B" if batch is None else str(batch)
        rows, cols = self.shape
        if self.kind == "matmul":
            counts = ", ".join(f"{n} {_OP_WORDS.get(op, op)}" for op, n in self.nodes.items())
            plus = " + b" if self.bias else ""
            return (
                f"layer {self.layer}'s W·x{plus} (W {rows}×{cols}): {self.n_nodes} nodes "
                f"({counts}) -> one {B}×{cols} @ {cols}×{rows} matmul, X·Wᵀ{plus}"
            )
        nodes = f"{rows} {self.kind} node{'' if rows == 1 else 's'}"
        each = f" of {cols} input{'' if cols == 1 else 's'}" if self.kind in _VARIADIC else ""
        return f"{nodes}{each} -> one {self.kind} on {B}×{rows}"


_OP_WORDS = {"mul": "×", "add": "+", "sum": "Σ"}
_VARIADIC = {op.name for op in OPS.values() if op.variadic}


@dataclass
class _Workspace:
    """Arrays for one batch size, reused from call to call (fresh ones cost page faults)."""

    values: Array  # (rows, batch): inputs, targets, parameters, constants, then the nodes
    grads: Array  # (rows, batch): d(mean loss)/d(row), per example
    gathered: Array  # (edges, batch) scratch: a group's inputs, or its selected edges
    contrib: Array  # (edges, batch) scratch: local * upstream for every edge of a group
    summed: Array  # (rows, batch) scratch: a bucket's edges added up per row
    temp: Array  # (rows, batch) scratch: grads[rows] for fancy-indexed rows
    # Per matmul of this replay: its W, and max |W| × max |U| (see _dense_forward).
    weights: list[tuple[Array, float]] = field(default_factory=list)
    # Per step, the views of these arrays it reads and writes, sliced once per batch size
    # rather than on every replay (a slice costs as much as a small numpy call).
    forward: list[tuple[Any, ...]] = field(default_factory=list)
    backward: list[tuple[Any, ...]] | None = None  # with grads & co, at the first replay


class CompiledGraph:
    """One example's graph, compiled to run a whole batch with numpy.

    Build it with :func:`trace` or :func:`compile_model`. The inputs and targets of a batch are
    the rows of ``X`` and ``Y``; the parameters are read from the Values given to ``trace`` on
    every call, so an optimizer that updates ``p.data`` is seen at once.

    Each dense layer's neurons (Σ w·x + b over the same inputs) become one matrix product;
    every other node joins the nodes of its depth that apply the same op in one gathered numpy
    call. :meth:`explain` says which scalar nodes became which array operation.

    Attributes:
        n_inputs: Numbers per example in ``X``.
        n_targets: Numbers per example in ``Y`` (0 for a prediction graph).
        n_outputs: Values that ``fn`` returned (1 for a loss).
        params: The parameters, in the order given.
        n_nodes: Op nodes in one example's graph.
        n_levels: The graph's depth.
        n_groups: Array operations forward (matmuls included).
        n_matmuls: Of these, the dense layers' matrix products.
        array_ops: What each array operation computes (:class:`ArrayOp`), in replay order.
    """

    def __init__(self, graph: _Graph, n_inputs: int, n_targets: int, params: list[Value]) -> None:
        for op in dict.fromkeys(node.op for node in graph.nodes):  # in order of first use
            if op not in _ARRAY_RULES_CHECKED:
                _check_array_rules(op)
                _ARRAY_RULES_CHECKED.add(op)
        self.n_inputs = n_inputs
        self.n_targets = n_targets
        self.n_outputs = len(graph.outputs)
        self.params = params
        self.n_nodes = len(graph.nodes)
        nodes = self._nodes = graph.nodes

        # The replay's depth of each node: 1 + the depth of its deepest interior input, where a
        # neuron's inputs are the u of its products. Nodes of one depth, op and arity form a
        # group; neurons of one depth and the same inputs form a matmul.
        neurons = self._neurons = {nr.root: nr for nr in _find_neurons(graph)}
        absorbed = {v for nr in neurons.values() for v in nr.absorbed}
        kept = [m for m in range(len(nodes)) if m not in absorbed]  # the nodes that stay nodes
        depth = [0] * len(nodes)
        keyed: dict[tuple[Any, ...], list[int]] = {}
        for m in kept:
            nr = neurons.get(m)
            node = nodes[m]
            refs = nr.inputs if nr is not None else node.inputs
            depth[m] = 1 + max((depth[r[1]] for r in refs if r[0] == "n"), default=0)
            if nr is not None:
                key: tuple[Any, ...] = (depth[m], "dense", nr.key)
            else:
                key = (depth[m], id(node.op), len(node.inputs))
            keyed.setdefault(key, []).append(m)
        ordered = sorted(keyed.values(), key=lambda ms: (depth[ms[0]], ms[0]))

        # Rows of the value matrix: inputs, targets, the parameters the gathered groups read (in
        # order of first use), constants, then each array op's nodes in a run.
        self._param_start = n_inputs + n_targets
        slot: dict[int, int] = {}
        constants: dict[str, int] = {}

        def note(kind: str, v: Any) -> None:
            if kind == "p":
                slot.setdefault(v, len(slot))
            elif kind == "c":
                constants.setdefault(float(v).hex(), len(constants))

        for members in ordered:
            if members[0] in neurons:
                for m in members:
                    if neurons[m].const_input:
                        for kind, v in neurons[m].inputs:
                            if kind == "c":
                                note(kind, v)
                continue
            for j in range(len(nodes[members[0]].inputs)):
                for m in members:
                    note(*nodes[m].inputs[j])
        for kind, v in graph.outputs:
            note(kind, v)
        self._const_start = self._param_start + len(slot)
        self._const_values = np.array([float.fromhex(h) for h in constants], dtype=np.float64)
        row_of_node = [0] * len(nodes)
        next_row = self._const_start + len(constants)
        for members in ordered:
            for m in members:
                row_of_node[m] = next_row
                next_row += 1
        self._n_rows = next_row

        def row(r: Ref) -> int:
            kind, v = r
            if kind == "x":
                return int(v)
            if kind == "y":
                return n_inputs + int(v)
            if kind == "p":
                return self._param_start + slot[v]
            if kind == "n":
                return row_of_node[v]
            return self._const_start + constants[float(v).hex()]

        # The parameter vector: the rows' parameters first (row param_start + i holds entry i),
        # then the other weights, each matmul's W row-major and then its biases, so that a
        # layer's W is one slice; its last entry is 0.0, the bias of a neuron without one.
        pslot = dict(slot)
        columns: list[list[Ref]] = []
        for members in ordered:
            if members[0] not in neurons:
                continue
            cols = sorted({_ref_key(u): u for u in neurons[members[0]].inputs}.values(), key=row)
            columns.append(cols)
            for m in members:
                nr = neurons[m]
                if not nr.const_input and nr.inputs == cols:  # its products in W's column order
                    nr.columns = [k for k, _ in nr.weights]
                else:
                    by_input = {_ref_key(u): k for k, u in nr.weights}
                    nr.columns = [by_input[_ref_key(u)] for u in cols]
                for k in nr.columns:
                    pslot.setdefault(k, len(pslot))
            for m in members:
                b = neurons[m].bias
                if b is not None:
                    pslot.setdefault(b, len(pslot))
        used = sorted(pslot, key=pslot.__getitem__)
        self._used_params = [params[k] for k in used]
        self._used_index = np.array(used, dtype=np.intp)  # where in ``params`` each one sits
        self._n_row_params = len(slot)
        zero = len(pslot)
        self._param_vector = np.zeros(zero + 1)

        # A row needs a gradient when a parameter flows into it: every neuron's sum does.
        needs = np.zeros(self._n_rows, dtype=bool)
        needs[self._param_start : self._const_start] = True
        for m in kept:
            if m in neurons:
                needs[row_of_node[m]] = True
            else:
                needs[row_of_node[m]] = any(needs[row(r)] for r in nodes[m].inputs)

        self._steps: list[Step] = []
        self.array_ops: list[ArrayOp] = []
        self._ordered = ordered
        product = find(infix="*").name
        layers = iter(columns)
        for index, members in enumerate(ordered):
            start, stop = row_of_node[members[0]], row_of_node[members[0]] + len(members)
            dense = members[0] in neurons
            counts: dict[str, int] = {nodes[members[0]].op.name: len(members)}
            if dense:  # the products come first in trace order, then the sums
                counts = {product: sum(len(neurons[m].weights) for m in members)}
                for m in members:
                    for v in (*neurons[m].inner, m):
                        counts[nodes[v].op.name] = counts.get(nodes[v].op.name, 0) + 1
            level = depth[members[0]]
            if dense:
                step = self._dense_step(
                    [neurons[m] for m in members], next(layers), start, row, pslot, needs
                )
                self._steps.append(step)
                shape = (len(members), step.n_in)
                n = sum(1 for s in self._steps if type(s) is _Dense)
                has_bias = step.bias is not None
                self.array_ops.append(ArrayOp(index, "matmul", level, counts, shape, has_bias, n))
                continue
            first = nodes[members[0]]
            arity = len(first.inputs)
            block = np.array(
                [[row(nodes[m].inputs[j]) for m in members] for j in range(arity)],
                dtype=np.intp,
            ).reshape(arity, len(members))
            group = _Group(first.op, start, stop, block)
            runs = [_as_slice(block[j]) for j in range(arity)]
            if all(type(r) is slice for r in runs):
                group.views = tuple(runs)  # type: ignore[arg-type]
            whole = _as_slice(block.reshape(-1))
            group.whole = whole if type(whole) is slice else None
            group.stacked = first.op.variadic and first.op.name in BUILTINS
            _plan_backward(group, needs)
            self._steps.append(group)
            shape = (len(members), arity)
            self.array_ops.append(ArrayOp(index, first.op.name, level, counts, shape))
        self.n_groups = len(self._steps)
        self.n_matmuls = sum(1 for s in self._steps if type(s) is _Dense)
        self._outputs = np.array([row(r) for r in graph.outputs], dtype=np.intp)
        self._edges = max(
            (s.block.size if isinstance(s, _Group) else s.n_in for s in self._steps), default=0
        )
        self._bucket_rows = max(
            (count for g in self._steps if type(g) is _Group for _, count, _, _ in g.buckets),
            default=0,
        )
        self._workspaces: dict[int, _Workspace] = {}

    def _dense_step(
        self,
        members: list[_Neuron],
        cols: list[Ref],
        start: int,
        row: Callable[[Ref], int],
        pslot: dict[int, int],
        needs: NDArray[np.bool_],
    ) -> _Dense:
        """The matmul of neurons that read the inputs ``cols`` (in the order of their rows)."""
        zero = len(self._param_vector) - 1
        W = np.array([list(map(pslot.__getitem__, nr.columns)) for nr in members], dtype=np.intp)
        b = np.array([zero if nr.bias is None else pslot[nr.bias] for nr in members], np.intp)
        const = np.array([[nr.const] for nr in members])
        in_rows = np.array([row(u) for u in cols], dtype=np.intp)
        has_bias = any(nr.bias is not None for nr in members)
        return _Dense(
            start=start,
            stop=start + len(members),
            inputs=_as_slice(in_rows),
            n_in=len(cols),
            weights=_as_slice(W.reshape(-1)),
            weights_distinct=_distinct(W.reshape(-1)),
            bias=_as_slice(b) if has_bias else None,
            bias_distinct=_distinct(b[b != zero]),
            const=const if any(nr.const.hex() != "0x0.0p+0" for nr in members) else None,
            input_grad=bool(needs[in_rows].any()),
        )

    def __getstate__(self) -> dict[str, Any]:
        # A workspace holds views of this graph's arrays (W is a view of the parameter
        # vector): a copy makes its own at its first call, bound to the copy's arrays.
        state = self.__dict__.copy()
        state["_workspaces"] = {}
        return state

    @functools.cached_property
    def n_levels(self) -> int:
        """The graph's depth: the longest chain of op nodes from an input to an output."""
        depth = [0] * len(self._nodes)
        for m, node in enumerate(self._nodes):
            d = 0
            for kind, v in node.inputs:
                if kind == "n" and depth[v] > d:
                    d = depth[v]
            depth[m] = d + 1
        return max(depth, default=0)

    @functools.cached_property
    def _node_op(self) -> list[int]:
        """Per traced node, the array op that computes it (for explain, locate and pictures)."""
        node_op = [0] * len(self._nodes)
        for index, members in enumerate(self._ordered):
            for m in members:
                node_op[m] = index
                if m in self._neurons:
                    for v in self._neurons[m].absorbed:
                        node_op[v] = index
        return node_op

    def __repr__(self) -> str:
        return (
            f"CompiledGraph({self.n_nodes} nodes, {self.n_levels} levels, {self.n_groups} "
            f"array ops ({self.n_matmuls} matmuls), {self.n_inputs} inputs, {self.n_targets} "
            f"targets, {self.n_outputs} outputs, {len(self.params)} params)"
        )

    # -- explaining -------------------------------------------------------------------------------

    def explain(self, batch: int | None = None) -> str:
        """Say which scalar nodes of one example become which array operation, with counts.

        The bridge from the scalar graph of the lecture to a tensor library: a dense layer's
        products and sums are one matrix product, its activations one numpy call.

        Args:
            batch: Write the shapes for this many examples (None: ``B``).

        Returns:
            A few lines of text: one per array operation of the forward replay, then what the
            backward replay adds. The same facts, as data, are in :attr:`array_ops`.

        >>> from microgradnn.nn import MLP
        >>> graph = compile_model(MLP(2, [3, 1], activation="relu"), "mse", 2)
        >>> print(graph.explain(batch=10))  # doctest: +ELLIPSIS
        one example's graph: 20 scalar nodes -> 7 array ops per replay (2 matmuls)
          1. layer 1's W·x + b (W 3×2): 9 nodes (6 ×, 3 Σ) -> one 10×2 @ 2×3 matmul, X·Wᵀ + b
          2. 3 relu nodes -> one relu on 10×3
          3. layer 2's W·x + b (W 1×3): 4 nodes (3 ×, 1 Σ) -> one 10×3 @ 3×1 matmul, X·Wᵀ + b
          4. 1 sub node -> one sub on 10×1
        ...
        """
        if batch is not None:
            batch = integer("batch", batch, low=1)
        head = (
            f"one example's graph: {self.n_nodes} scalar nodes -> {self.n_groups} array ops per "
            f"replay ({self.n_matmuls} matmul{'' if self.n_matmuls == 1 else 's'})"
        )
        lines = [head]
        lines += [f"  {op.index + 1}. {op.describe(batch)}" for op in self.array_ops]
        B = "B" if batch is None else str(batch)
        if self.n_matmuls:
            lines.append(
                f"backward: each matmul becomes two, dX = dZ·W ({B}×out @ out×in) and "
                f"dW = dZᵀ·X (out×{B} @ {B}×in),"
            )
            lines.append(f"  and db = dZ summed over the {B} rows; each other op is two calls,")
        else:
            lines.append("backward: each op is two calls,")
        lines.append("  one for its local derivatives, one to add local × upstream into its inputs")
        return "\n".join(lines)

    def locate(self, outputs: Value | Sequence[Value]) -> dict[int, int]:
        """For each op node of one example's graph, the array op that computes it.

        ``outputs`` are what the traced function returns for one real example (the loss, or
        the list of outputs; the first ones suffice): built the same way, its graph has the
        traced nodes in the same order.

        Returns:
            ``{id(node): index into array_ops}`` for every op node reached from ``outputs``.

        Raises:
            ValueError: ``outputs`` has another graph than the one traced.
        """
        roots = [outputs] if type(outputs) is Value else list(outputs)
        for i, v in enumerate(roots):
            if type(v) is not Value:
                raise TypeError(f"outputs[{i}]: expected a Value, got {describe(v)}")
        order = _postorder(roots)
        if len(order) > self.n_nodes or any(
            v._op is not node.op for v, node in zip(order, self._nodes, strict=False)
        ):
            raise ValueError(
                f"outputs: this graph ({len(order)} op nodes) is not the one traced "
                f"({self.n_nodes} op nodes): build it with the traced function on one example"
            )
        return {id(v): self._node_op[m] for m, v in enumerate(order)}

    # -- running ----------------------------------------------------------------------------------

    def _matrix(self, name: str, data: Any, width: int) -> Array:
        try:
            a = np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name}: expected a 2-D array of numbers ({err})") from None
        if a.ndim == 1 and width == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2 or a.shape[1] != width:
            raise ValueError(f"{name}: expected shape (batch, {width}), got {a.shape}")
        return a

    def _workspace(self, batch: int) -> _Workspace:
        ws = self._workspaces.get(batch)
        if ws is None:
            if len(self._workspaces) >= 2:  # keep a full batch and an epoch's last, smaller one
                self._workspaces.clear()
            values = np.empty((self._n_rows, batch))
            values[self._const_start : self._const_start + len(self._const_values)] = (
                self._const_values[:, None]
            )
            empty = np.empty((0, batch))
            ws = _Workspace(values, empty, np.empty((self._edges, batch)), empty, empty, empty)
            ws.forward = [_forward_views(s, ws, self._param_vector) for s in self._steps]
            self._workspaces[batch] = ws
        return ws

    def _bind_backward(self, ws: _Workspace) -> list[tuple[Any, ...]]:
        """The workspace's views for the backward pass, made with its arrays at the first call.

        (:meth:`forward` needs none of them.)
        """
        if ws.backward is not None:
            return ws.backward
        values = ws.values
        batch = values.shape[1]
        ws.grads = np.empty_like(values)
        ws.contrib = np.empty((self._edges, batch))
        ws.summed = np.empty((self._bucket_rows, batch))
        ws.temp = np.empty((self._bucket_rows, batch))
        ws.backward = [
            _backward_views(s, ws, views) for s, views in zip(self._steps, ws.forward, strict=True)
        ]
        return ws.backward

    def param_vector(self) -> Array:
        """The parameters' numbers as one vector: entry i is ``params[i].data``.

        What :meth:`loss_and_grad_vector` takes: the network as a function of one vector.
        """
        return numbers_of(self.params)

    def _load(self, theta: Any) -> None:
        """Put the parameters' numbers where the replay reads them: ``theta``'s, or the Values'."""
        data = self._param_vector
        n = len(self._used_params)
        if theta is None:
            data[:n] = numbers_of(self._used_params)
            return
        try:
            t = np.asarray(theta, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"theta: expected a vector of numbers ({err})") from None
        if t.shape != (len(self.params),):
            raise ValueError(
                f"theta: expected shape ({len(self.params)},), one number per parameter, "
                f"got {t.shape}"
            )
        np.take(t, self._used_index, out=data[:n])

    def _forward(self, X: Any, Y: Any) -> _Workspace:
        """Fill the value matrix: one row per input, target, parameter, constant and node.

        The parameters' numbers are in ``_param_vector`` already (:meth:`_load`).
        """
        Xa = self._matrix("X", X, self.n_inputs)
        if Y is None:
            if self.n_targets:
                raise ValueError(f"this graph needs targets Y of shape (batch, {self.n_targets})")
            Ya = np.empty((len(Xa), 0))
        else:
            Ya = self._matrix("Y", Y, self.n_targets)
        if len(Ya) != len(Xa):
            raise ValueError(
                f"X and Y must have the same number of rows, got {len(Xa)} and {len(Ya)}"
            )
        batch = len(Xa)
        if batch == 0:
            raise ValueError("expected a batch of at least 1 example, got 0")
        ws = self._workspace(batch)
        values = ws.values
        values[: self.n_inputs] = Xa.T
        values[self.n_inputs : self._param_start] = Ya.T
        data = self._param_vector
        values[self._param_start : self._const_start] = data[: self._n_row_params, None]
        ws.weights.clear()
        largest = _largest(data) if self.n_matmuls else 0.0
        for s, views in zip(self._steps, ws.forward, strict=True):
            if type(s) is _Group:
                out, inputs = views
                if inputs is None:
                    inputs = _gather(s, values, ws.gathered)
                out[...] = _apply(s.op, inputs)
            else:
                _dense_forward(s, data, largest, ws, *views)  # type: ignore[arg-type]
        return ws

    def forward(self, X: Any, Y: Any = None) -> Array:
        """Run the graph forward for every row of ``X``; no gradients.

        Args:
            X: Inputs, shape ``(batch, n_inputs)``.
            Y: Targets, shape ``(batch, n_targets)``; only for graphs traced with targets.

        Returns:
            The outputs, shape ``(batch, n_outputs)``.
        """
        self._load(None)
        with np.errstate(all="ignore"):
            values = self._forward(X, Y).values
        return np.ascontiguousarray(values[self._outputs].T)

    @overload
    def loss_and_grad(self, X: Any, Y: Any = None) -> float: ...

    @overload
    def loss_and_grad(self, X: Any, Y: Any, *, outputs: Literal[True]) -> tuple[float, Array]: ...

    def loss_and_grad(
        self, X: Any, Y: Any = None, *, outputs: bool = False
    ) -> float | tuple[float, Array]:
        """Mean loss over the batch; ADDS d(mean loss)/d(p) into each parameter's ``.grad``.

        The loss is the graph's first output. This equals building the batch's mean loss with
        the eager engine and calling ``backward()`` (up to float rounding): zero the gradients
        first (``zero_grad()``).

        Args:
            X: Inputs, shape ``(batch, n_inputs)``.
            Y: Targets, shape ``(batch, n_targets)`` (or ``(batch,)`` for one target).
            outputs: Also return the graph's other outputs (e.g. the model's outputs, traced
                with the loss), from the same replay.

        Returns:
            The mean of the per-example losses; with ``outputs``, also the other outputs,
            shape ``(batch, n_outputs - 1)``.
        """
        self._check_loss_graph(outputs)
        self._load(None)
        loss, totals, values = self._replay(X, Y)
        for p, d in zip(self._used_params, totals.tolist(), strict=False):
            p.grad += d
        if outputs:
            return loss, np.ascontiguousarray(values[self._outputs[1:]].T)
        return loss

    @overload
    def loss_and_grad_vector(self, theta: Any, X: Any, Y: Any = None) -> tuple[float, Array]: ...

    @overload
    def loss_and_grad_vector(
        self, theta: Any, X: Any, Y: Any, *, outputs: Literal[True]
    ) -> tuple[float, Array, Array]: ...

    def loss_and_grad_vector(
        self, theta: Any, X: Any, Y: Any = None, *, outputs: bool = False
    ) -> tuple[float, Array] | tuple[float, Array, Array]:
        """Mean loss over the batch and its gradient, at the parameter vector ``theta``.

        The network as a function of one vector, L(theta), as an optimizer sees it:
        ``theta[i]`` stands for ``params[i]`` (:meth:`param_vector` reads the Values' numbers
        in that order) and ``grad[i]`` is dL/dtheta[i]. The Values are neither read nor
        written, so a training loop can keep the parameters in one array between steps.

        Args:
            theta: The parameters' numbers, shape ``(len(params),)``.
            X: Inputs, shape ``(batch, n_inputs)``.
            Y: Targets, shape ``(batch, n_targets)`` (or ``(batch,)`` for one target).
            outputs: Also return the graph's other outputs, as :meth:`loss_and_grad` does.

        Returns:
            ``(loss, grad)``, or ``(loss, grad, outputs)``; ``grad`` is a new array.

        >>> from microgradnn.nn import Neuron
        >>> n = Neuron(1, activation="linear")
        >>> g = compile_model(n, "mse", 1)
        >>> loss, grad = g.loss_and_grad_vector([2.0, 1.0], [[1.0], [2.0]], [[3.0], [5.0]])
        >>> loss, grad.tolist()  # y = 2x + 1 fits both points
        (0.0, [0.0, 0.0])
        """
        self._check_loss_graph(outputs)
        self._load(theta)
        loss, totals, values = self._replay(X, Y)
        grad = np.zeros(len(self.params))
        grad[self._used_index] = totals[: len(self._used_index)]
        if outputs:
            return loss, grad, np.ascontiguousarray(values[self._outputs[1:]].T)
        return loss, grad

    def _check_loss_graph(self, outputs: bool) -> None:
        if self.n_outputs < 1 or (self.n_outputs > 1 and not outputs):
            raise ValueError(
                "loss_and_grad needs a graph whose only output is a per-example loss (or pass "
                f"outputs=True for a loss followed by other outputs); this one has "
                f"{self.n_outputs} outputs: use forward()"
            )

    def _replay(self, X: Any, Y: Any) -> tuple[float, Array, Array]:
        """Forward and backward over the batch: the mean loss, the gradients, the value matrix.

        The gradients are d(loss)/d(each used parameter), in ``_param_vector``'s order.
        """
        with np.errstate(all="ignore"):
            ws = self._forward(X, Y)
            values = ws.values
            batch = values.shape[1]
            backward = self._bind_backward(ws)
            grads = ws.grads
            grads[self._param_start :] = 0.0
            out = self._outputs[0]
            loss = float(values[out].mean())
            grads[out] += 1.0 / batch  # d(mean)/d(each example's loss)
            totals = np.zeros(len(self._param_vector))
            k = len(ws.weights)
            for s, views in zip(reversed(self._steps), reversed(backward), strict=True):
                if type(s) is _Group:
                    if s.buckets:
                        _backward_group(s, ws, *views)
                else:
                    k -= 1
                    _dense_backward(s, ws, *ws.weights[k], totals, *views)  # type: ignore[arg-type]
            totals[: self._n_row_params] += grads[self._param_start : self._const_start].sum(axis=1)
        return loss, totals, values


# The slot behind Value.data: parameters are Values (checked by trace), and the property
# costs a call per parameter per replay.
_data = operator.attrgetter("_data")


def numbers_of(values: Sequence[Value]) -> Array:
    """The Values' numbers as one float64 vector (the slots, past the tracer's check)."""
    return np.fromiter(map(_data, values), np.float64, len(values))


def _apply(op: Op, inputs: tuple[Array, ...]) -> Array:
    """The op's forward on arrays: its numpy twin, or its float rule where that works on arrays."""
    rule = op.array_forward
    return rule(inputs) if op.variadic else rule(*inputs)  # type: ignore[no-any-return]


_ARRAY_RULES_CHECKED: set[Op] = set()
"""Rows whose array rules passed :func:`_check_array_rules` (a row is immutable; redefining an
op makes a new row, which is checked afresh)."""


def _check_array_rules(op: Op) -> None:
    """Refuse an op whose rules do not run on arrays, naming it, before anything is replayed.

    The rules run on a probe array and must give, element by element, what the float rules
    give: a rule that runs on arrays but computes something else there (a custom op that
    branches on ``isinstance(a, float)``, say) is refused too, so compiled and eager agree.
    """
    arity = 3 if op.variadic else op.arity
    points = (0.5, -0.25, 2.0)
    probe = tuple(np.array(points) + 0.125 * i for i in range(arity))
    try:
        with np.errstate(all="ignore"):
            out = np.broadcast_to(_apply(op, probe), (3,))
            rule = op.array_local
            locals_ = rule(probe, out) if op.variadic else rule(*probe, out)
            got = [out, *(np.broadcast_to(d, (3,)) for d in locals_)]
    except Exception as err:
        raise CompileError(
            f"op {op.name!r}: its rules do not work on numpy arrays ({err}), so it cannot be "
            "compiled; give its row numpy twins (np_forward, np_local) or use compiled=False"
        ) from None
    for e in range(3):
        xs = tuple(float(p[e]) for p in probe)
        try:
            with np.errstate(all="ignore"):
                value = op.forward(xs) if op.variadic else op.forward(*xs)
                want = [value, *(op.local(xs, value) if op.variadic else op.local(*xs, value))]
                want = [float(w) for w in want]
        except Exception:  # outside the float rule's domain: nothing to compare there
            continue
        for what, a, w in zip(["forward", *["local"] * (len(want) - 1)], got, want, strict=False):
            if not _agrees(float(a[e]), w):
                at = ", ".join(f"{x:g}" for x in xs)
                raise CompileError(
                    f"op {op.name!r}: its {what} rule on numpy arrays gives {float(a[e])!r} "
                    f"at ({at}), its float rule {w!r}, so it cannot be compiled "
                    "faithfully; give its row numpy twins (np_forward, np_local) or use "
                    "compiled=False"
                )


def _agrees(a: float, b: float) -> bool:
    """Equal up to rounding (the numpy and math versions of a function may differ by an ulp)."""
    if a != a or b != b:
        return a != a and b != b
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1e-300)


def _gather(g: _Group, values: Array, scratch: Array) -> tuple[Array, ...]:
    """The group's inputs as the op table expects them: one (n, batch) array per position."""
    if g.views is not None:  # every position reads a run of rows: views, no copy
        if g.stacked and g.whole is not None:  # and the runs follow each other: one view
            k, n = g.block.shape
            return values[g.whole].reshape(k, n, values.shape[1])  # type: ignore[return-value]
        return tuple([values[rows] for rows in g.views])
    k, n = g.block.shape
    out = scratch[: k * n].reshape(k, n, values.shape[1])
    np.take(values, g.block, axis=0, out=out, mode="clip")
    return out if g.stacked else tuple(out)  # type: ignore[return-value]


def _forward_views(s: Step, ws: _Workspace, data: Array) -> tuple[Any, ...]:
    """What a step's forward reads and writes, as views where they are runs of rows (else None).

    A group: its rows and its inputs. A matmul: Z, U, W (a view of the parameter vector, which
    :meth:`CompiledGraph._load` fills in place) and the biases as a column.
    """
    values = ws.values
    if type(s) is _Group:
        return values[s.start : s.stop], _gather(s, values, ws.gathered) if s.views else None
    d: _Dense = s  # type: ignore[assignment]
    U = values[d.inputs] if type(d.inputs) is slice else None
    W = data[d.weights].reshape(d.stop - d.start, d.n_in) if type(d.weights) is slice else None
    b = data[d.bias][:, None] if type(d.bias) is slice else None
    return values[d.start : d.stop], U, W, b


def _backward_views(s: Step, ws: _Workspace, forward: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a step's backward reads and writes, as views where they are runs of rows.

    The grads' views are made here; the numbers' views are the forward's (``forward``, from
    :func:`_forward_views`), the same arrays.
    """
    grads = ws.grads
    if type(s) is _Group:
        out, inputs = forward
        k, n = s.block.shape
        contrib = ws.contrib[: k * n]
        upstream = grads[s.start : s.stop]
        return upstream, out, inputs, contrib.reshape(k, n, grads.shape[1]), contrib
    d: _Dense = s  # type: ignore[assignment]
    U = forward[1]
    dU = grads[d.inputs] if type(d.inputs) is slice else None
    return grads[d.start : d.stop], U, dU


def _rows_of(values: Array, rows: Rows, scratch: Array) -> Array:
    if type(rows) is slice:
        return values[rows]
    return np.take(values, rows, axis=0, out=scratch[: len(rows)], mode="clip")


_SAFE = 2.0**1000
"""A sum of terms whose sizes add up to less than this cannot overflow, in whatever order."""


def _largest(a: Array) -> float:
    """The largest size in ``a``: nan if it holds a nan, inf if it holds an inf."""
    return float(np.abs(a).max()) if a.size else 0.0


def _dense_forward(
    d: _Dense,
    data: Array,
    largest_param: float,
    ws: _Workspace,
    Z: Array,
    U: Array | None,
    W: Array | None,
    bias: Array | None,
) -> None:
    """Z = W·U + b (+ the constants); keeps this replay's W and max |U| for the backward pass.

    A matrix product adds its terms in its own order (blocked, with fused multiply-adds), the
    eager engine left to right: the same numbers up to rounding while no partial sum can come
    near overflow. Otherwise (an inf or nan among the inputs or weights, or numbers near the
    largest float) the terms are added one by one, left to right, as ``Value.sum`` does, so
    that inf, nan and overflow come out where eager has them.
    """
    if W is None:
        W = data[d.weights].reshape(d.stop - d.start, d.n_in)
    if U is None:
        U = _rows_of(ws.values, d.inputs, ws.gathered)
    largest_input = _largest(U)
    extra = largest_param + (_largest(d.const) if d.const is not None else 0.0)
    if d.n_in * largest_param * largest_input + extra <= _SAFE:
        np.matmul(W, U, out=Z)
    else:
        np.multiply(W[:, :1], U[0], out=Z)
        for j in range(1, d.n_in):
            Z += W[:, j : j + 1] * U[j]
    if d.bias is not None:
        Z += data[d.bias][:, None] if bias is None else bias
    if d.const is not None:
        Z += d.const
    ws.weights.append((W, largest_param * largest_input))


def _dense_backward(
    d: _Dense,
    ws: _Workspace,
    W: Array,
    bound: float,
    totals: Array,
    dZ: Array,
    U: Array | None,
    dU_rows: Array | None,
) -> None:
    """Backward through Z = W·U + b: dU = Wᵀ·dZ, dW = dZ·Uᵀ and db = Σ dZ.

    dU goes into the inputs' grads; dW and db into the parameters' ``totals``: ``dZ`` holds
    d(mean loss)/dz per example (the 1/batch is in it), so the products over the batch are the
    parameters' gradients themselves, summed over the examples. As forward, sums that could
    come near overflow are added in the gathered replay's order instead (``bound`` is
    max |W| × max |U| from the forward pass).
    """
    if U is None:
        U = _rows_of(ws.values, d.inputs, ws.gathered)
    n_out, batch = dZ.shape
    largest_grad = _largest(dZ)
    safe = max(batch, n_out) * largest_grad * bound <= _SAFE  # False for a nan
    if safe:
        dW = (dZ @ U.T).reshape(-1)
    else:
        dW = np.stack([(U * dZ[i]).sum(axis=1) for i in range(n_out)]).reshape(-1)
    if type(d.weights) is slice or d.weights_distinct:
        totals[d.weights] += dW
    else:  # a weight used twice: its uses add up
        np.add.at(totals, d.weights, dW)
    if d.bias is not None:
        db = dZ.sum(axis=1)
        if type(d.bias) is slice or d.bias_distinct:
            totals[d.bias] += db
        else:
            np.add.at(totals, d.bias, db)
    if d.input_grad:
        if safe:
            dU = np.matmul(W.T, dZ, out=ws.contrib[: d.n_in])
        else:
            dU = np.stack([(W[:, j : j + 1] * dZ).sum(axis=0) for j in range(d.n_in)])
        if dU_rows is None:
            ws.grads[d.inputs] += dU  # the rows of U are distinct: no two updates collide
        else:
            dU_rows += dU


def _plan_backward(group: _Group, needs: NDArray[np.bool_]) -> None:
    """Precompute which edges carry gradient and how to add them into their input rows."""
    n = group.stop - group.start
    edges = group.block.reshape(-1)
    selected = np.flatnonzero(needs[edges])
    if len(selected) == 0:
        return
    group.positions = tuple(np.unique(selected // n).tolist())
    rows = edges[selected]
    # Several edges may feed one row (x * x, or a hidden unit read by every neuron of the next
    # layer). Rows fed by m edges each form a bucket; its edges, sorted by row, reshape to
    # (rows, m, batch) and add up over m: one numpy call per distinct m, and no np.add.at.
    order = np.argsort(rows, kind="stable")
    uniq, starts, counts = np.unique(rows[order], return_index=True, return_counts=True)
    for m in np.unique(counts).tolist():
        which = np.flatnonzero(counts == m)
        runs = (starts[which][:, None] + np.arange(m)[None, :]).reshape(-1)
        rows_m = _as_slice(uniq[which])
        group.buckets.append((m, len(which), rows_m, _as_slice(selected[order[runs]])))


def _backward_group(
    g: _Group,
    ws: _Workspace,
    upstream: Array,
    out: Array,
    inputs: tuple[Array, ...] | None,
    contrib: Array,
    edges: Array,
) -> None:
    """grad[input] += local * grad[node] for every edge of the group that needs it.

    ``contrib`` is the (arity, n, batch) scratch for local * upstream, ``edges`` the same
    memory as (arity * n, batch); ``inputs`` is None when they must be gathered.
    """
    grads = ws.grads
    k = len(contrib)
    if inputs is None:
        inputs = _gather(g, ws.values, ws.gathered)
    op = g.op
    if op.vjp is not None:  # PyTorch's rounding of the product (see Op.vjp)
        parts = op.vjp(inputs, out, upstream) if op.variadic else op.vjp(*inputs, out, upstream)
        for j in g.positions:
            contrib[j] = parts[j]
    else:
        constant = g.constant_local
        if constant is None:
            rule = op.array_local
            local = rule(inputs, out) if op.variadic else rule(*inputs, out)
            if not g.local_checked:  # a rule is pure: plain numbers now, the same ones next time
                g.local_checked = True
                if op.masked is False and all(type(d) is float for d in local):
                    g.constant_local = constant = np.array(local)[:, None, None]
        if constant is not None:  # plain-number locals (add, sub, Σ): one multiply
            np.multiply(constant, upstream, out=contrib)
        else:
            for j in g.positions:
                np.multiply(local[j], upstream, out=contrib[j])
        if op.masked is not False:  # an input the op selects off gets exactly 0 (see Op.masked)
            off = op.masked(*inputs, out) if callable(op.masked) else (True,) * k
            for j in g.positions:
                np.copyto(contrib[j], 0.0, where=np.equal(local[j], 0.0) & off[j])
    for m, count, rows, take in g.buckets:
        if type(take) is slice:
            e = edges[take]
        else:
            e = np.take(edges, take, axis=0, out=ws.gathered[: len(take)], mode="clip")
        if m > 1:
            e = np.sum(e.reshape(count, m, -1), axis=1, out=ws.summed[:count])
        if type(rows) is slice:
            grads[rows] += e
        else:
            t = np.take(grads, rows, axis=0, out=ws.temp[:count], mode="clip")
            t += e
            grads[rows] = t


def trace(fn: TraceFn, n_inputs: int, n_targets: int, params: Sequence[Value]) -> CompiledGraph:
    """Trace ``fn`` on one example and compile its graph for batches.

    ``fn(xs, ys)`` receives ``n_inputs`` input Values and ``n_targets`` target Values and returns
    the example's loss (a Value) or a list of output Values (for prediction). It is called twice,
    on two different placeholder examples, to check that the graph does not depend on the data.
    Two examples catch the usual mistakes (an ``if`` on ``.data``, an active Dropout) but cannot
    prove that no branch anywhere depends on the data: keep ``fn`` free of them.

    Args:
        fn: The per-example computation.
        n_inputs: Numbers per example fed as ``xs``.
        n_targets: Numbers per example fed as ``ys`` (0 when there are none).
        params: The Values whose gradients :meth:`CompiledGraph.loss_and_grad` fills; recognised
            by identity. Every other Value the graph reads is frozen as a constant.

    Returns:
        The compiled graph.

    Raises:
        CompileError: The graph depends on the data, or uses an op without a numpy rule.

    >>> from microgradnn import Value
    >>> w = Value(3.0)
    >>> g = trace(lambda xs, ys: [(w * xs[0]).relu()], 1, 0, [w])
    >>> g.forward([[1.0], [-1.0], [2.0]]).ravel().tolist()
    [3.0, 0.0, 6.0]
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a function (xs, ys) -> loss, got {describe(fn)}")
    n_inputs = integer("n_inputs", n_inputs, low=0)
    n_targets = integer("n_targets", n_targets, low=0)
    if isinstance(params, Value | str) or not isinstance(params, Iterable):
        raise TypeError(f"params: expected a list of Values, got {describe(params)}")
    params = list(params)
    if not all_values(params) or any(map(_op_attr, params)):
        for i, p in enumerate(params):  # name the first one that is not a leaf Value
            if type(p) is not Value:
                raise TypeError(f"params[{i}]: expected a Value, got {describe(p)}")
            if not p.is_leaf:
                raise ValueError(
                    f"params[{i}]: expected a leaf Value (made by Value(...)), got a Value "
                    "computed by an op"
                )
    unique = list(dict.fromkeys(params))  # each once, in order (a Value hashes by identity)
    if not is_grad_enabled():
        raise CompileError("trace records the graph, so it cannot run inside no_grad()")

    # Two placeholder examples that differ everywhere, so that an `if` on the data takes
    # another branch in the second trace: positive then negative inputs, and targets 1 then the
    # first of 0, -1, 2 that fn accepts (losses check their targets: hinge wants -1 or +1, BCE
    # wants [0, 1]).
    rng = np.random.default_rng(0)
    xs_first = (0.25 + 0.75 * rng.random(n_inputs)).tolist()
    xs_second = (-0.25 - 0.75 * rng.random(n_inputs)).tolist()
    with collector_paused():  # two graphs of fresh nodes, and no cycles among them
        refs: dict[int, Ref] = {id(p): ("p", k) for k, p in enumerate(unique)}
        first = _record(fn, xs_first, [1.0] * n_targets, refs)
        rejected: Exception | None = None
        for target in (0.0, -1.0, 2.0) if n_targets else (0.0,):
            try:
                second = _record(fn, xs_second, [target] * n_targets, refs)
                break
            except (ValueError, TypeError) as err:
                rejected = rejected or err
        else:
            raise CompileError(
                "fn accepted the first placeholder example (targets 1.0) but rejected every "
                f"second one (targets 0, -1 and 2), so the graph cannot be checked: {rejected}"
            ) from rejected
        _compare(first, second)
        del second
        return CompiledGraph(first, n_inputs, n_targets, unique)


def compile_model(
    model: Any,
    loss_fn: Callable[[Any, Any], Value] | str | None,
    n_inputs: int,
    n_targets: int = 1,
) -> CompiledGraph:
    """Compile ``loss_fn(model(x), y)`` for batches: the per-example loss of a model.

    Args:
        model: A callable on a list of inputs with ``parameters()``, such as an ``MLP``.
        loss_fn: A loss from :mod:`microgradnn.losses` (or its name), called as
            ``loss_fn([pred], [target])``: a batch of one. ``target`` is the one target Value
            when ``n_targets == 1``, else the list of them (e.g. a one-hot row). ``None``
            compiles the model's outputs instead, for :meth:`CompiledGraph.forward`.
        n_inputs: Inputs per example.
        n_targets: Targets per example (ignored when ``loss_fn`` is None).

    Returns:
        The compiled graph; its parameters are ``model.parameters()``.
    """
    params = model.parameters()
    if loss_fn is None:

        def outputs(xs: list[Value], ys: list[Value]) -> Outputs:
            out = model(xs)
            return [out] if type(out) is Value else list(out)

        return trace(outputs, n_inputs, 0, params)
    if isinstance(loss_fn, str):
        loss_fn = get_loss(loss_fn)
    n_targets = integer("n_targets", n_targets, low=0)
    fn = loss_fn

    def loss(xs: list[Value], ys: list[Value]) -> Outputs:
        target: Any = ys[0] if n_targets == 1 else list(ys)
        return fn([model(xs)], [target])

    graph = trace(loss, n_inputs, n_targets, params)
    rows = np.random.default_rng(0).normal(size=(3, n_inputs)).tolist()
    goal: Any = 1.0 if n_targets == 1 else [1.0] + [0.0] * (n_targets - 1)
    with no_grad():
        check_mean_loss(fn, [model(x) for x in rows], [goal] * len(rows))
    return graph


def check_mean_loss(
    loss_fn: Callable[[Any, Any], Value], preds: list[Any], targets: list[Any]
) -> None:
    """Refuse a loss that is not the mean of its examples' losses, which the replay assumes.

    The compiled path traces the loss of ONE example and averages it over the batch. A loss
    that sums (``reduction="sum"``), divides by ``len(preds)**2``, or mixes examples gives
    another number for a batch than the mean of its examples' losses: training on the replay
    would silently optimise something else. Checked on a few real examples, with no graph.

    Raises:
        CompileError: The batch loss and the mean of the per-example losses differ.
    """
    if len(preds) < 2:
        return
    with no_grad():
        whole = peek(loss_fn(preds, targets))
        parts = [peek(loss_fn([p], [t])) for p, t in zip(preds, targets, strict=True)]
    mean = math.fsum(parts) / len(parts)
    if whole == mean or (whole != whole and mean != mean):
        return
    if abs(whole - mean) <= 1e-9 * max(abs(whole), abs(mean)) + 1e-12:
        return
    raise CompileError(
        f"the loss of {len(preds)} examples is {whole:.6g}, but the mean of their own losses "
        f"is {mean:.6g}: the compiled replay averages per-example losses, so it would train on "
        "another number (a sum reduction, or a loss that uses len(preds), does this); make the "
        "loss a mean over the batch, or use compiled=False"
    )
