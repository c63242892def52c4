"""Notebook 10: build it yourself, your own Value class (source of 10_build_it_yourself.ipynb)."""

# %% [markdown]
# # 10. Build it yourself: your own `Value`, checked step by step
#
# *Lecture: Andrej Karpathy's "The spelled-out intro to neural networks and backpropagation:
# building micrograd", which writes a `Value` class in about a hundred lines; and the course's
# own Introduction to deep learning (lecture 1), "Backpropagation": the forward pass stores
# every node's value from left to right, the backward pass applies the chain rule from right to
# left.*
#
# **Goal:** write a micrograd-style `Value` class yourself, in six small steps, and let
# microgradnn check each step and point at the first thing that is wrong.
#
# Notebook 1 used microgradnn's `Value`. Here you write your own, the lecture's way: each
# object holds `data`, `grad`, its inputs `_prev`, the name of its operation `_op` and a
# `_backward` closure that passes the gradient on to its inputs. microgradnn reads such a class
# as it is:
#
# - `draw_dot(root)` draws your graph, with your numbers;
# - `check_backward(root)` tries each of your closures alone against a central difference and
#   blames the first wrong edge, in one sentence;
# - `check_value_class(MyClass)` builds many random expressions with your class, runs your
#   `backward()` next to microgradnn's, and names the classic bugs when it meets one;
# - `compare_backward(root)` replays your `backward()` next to microgradnn's, frame by frame.
#
# `microgradnn.zoo` holds the lecture's class and one copy of it per classic bug; we use them
# to see what each check says about a bug, after you have written that part yourself.
#
# **How the exercises work.** Each step is a class that extends the one before. Fill in the
# lines marked `raise NotImplementedError` in its cell and run it, then run the check cell
# below it: it prints `not yet: ...` with what is wrong, or `Correct!`. The check builds its
# own graphs every time, so running it again gives the same verdict. Each solution is hidden
# behind *Solution*: paste it into the exercise cell if you are stuck. When you change an
# earlier step, run the cells again from there (each class is built on the one before).

# %%
import math
import random

import microgradnn
from microgradnn import check_backward, check_value_class, zoo
from microgradnn.viz import compare_backward, draw_dot


def report(problem, praise):
    """Print the verdict of a check: what is wrong, or that it passed."""
    if problem is None:
        print("Correct!", praise)
    else:
        print("not yet:", problem)
    return problem is None


def trying(make):
    """Run make(); return what it gives, or a sentence saying what it raised."""
    try:
        return make(), None
    except Exception as err:
        return None, f"{type(err).__name__}: {err}"


# %% [markdown]
# ## Step 1: a number that remembers how it was made
#
# A leaf is a number you make: `Value1(2.0, label="a")`. An operation makes a new node whose
# `_prev` holds its inputs and whose `_op` says what it did (`"+"`, `"*"`). It also gets a
# `_backward` closure: once the node's own `grad` (d output / d node) is known, the closure
# adds to each input's `grad` the node's grad × the local derivative of the operation with
# respect to that input. That is one link of the chain rule.
#
# Two details differ from the lecture, on purpose. `_prev` is a tuple, not a set, so `x * x`
# keeps both of its inputs. New nodes are made with `type(self)(...)` rather than
# `Value1(...)`, so that the classes of the next steps, built on this one, make nodes of their
# own kind.
#
# This is the graph the check builds, `d = a * b + c`, drawn with microgradnn's `Value`
# (gradients and local derivatives not shown yet):

# %%
a = microgradnn.Value(2.0, label="a")
b = microgradnn.Value(-3.0, label="b")
c = microgradnn.Value(10.0, label="c")
e = a * b
e.label = "e"
d = e + c
d.label = "d"
draw_dot(d, show_grad=False, edge_labels=False)

# %% [markdown]
# **Exercise 1.** Write the `_backward` of `+`, and `__mul__` with its `_backward`.
#
# **Predict:** once `d.grad = 1`, what do the two closures leave in `a.grad`, `b.grad` and
# `c.grad`? (Run them by hand, `d._backward()` then `e._backward()`, once the check passes.)

# %%
class Value1:
    """Step 1: data, inputs, operation, and one chain-rule step per node."""

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None  # a leaf passes nothing on
        self._prev = tuple(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __add__(self, other):
        other = other if isinstance(other, Value1) else type(self)(other)
        out = type(self)(self.data + other.data, (self, other), "+")

        def _backward():
            raise NotImplementedError("step 1: pass out.grad on to self.grad and other.grad")

        out._backward = _backward
        return out

    def __mul__(self, other):
        raise NotImplementedError("step 1: your __mul__ (data, _prev, _op and _backward)")


# %%
def step1_problem(cls):
    """What is wrong with cls's forward pass or its closures on d = a * b + c (None: nothing)."""
    leaves, problem = trying(lambda: (cls(2.0, label="a"), cls(-3.0, label="b"),
                                      cls(10.0, label="c")))
    if problem:
        return f"making a leaf raised {problem}"
    a, b, c = leaves
    e, problem = trying(lambda: a * b)
    if problem:
        return f"a * b raised {problem}"
    d, problem = trying(lambda: e + c)
    if problem:
        return f"e + c raised {problem}"
    for name, node, data, op, inputs in (("a * b", e, -6.0, "*", (a, b)),
                                         ("e + c", d, 4.0, "+", (e, c))):
        if not isinstance(node, cls):
            return f"{name} gives {node!r}, not a {cls.__name__}: return type(self)(...)"
        if node.data != data:
            return f"{name} has data {node.data}, expected {data}"
        if node._op != op:
            return f"{name} has _op {node._op!r}, expected {op!r}"
        if sorted(map(id, node._prev)) != sorted(map(id, inputs)):
            return f"{name} has _prev {node._prev!r}: expected its two inputs"
    edges, problem = trying(lambda: check_backward(d))
    if problem:
        return f"running a _backward closure raised {problem}"
    return None if edges else str(edges)


def run_closures_by_hand(cls):
    a, b, c = cls(2.0, label="a"), cls(-3.0, label="b"), cls(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    d.grad = 1.0
    d._backward()
    e._backward()
    print(f"after d._backward() and e._backward(): a.grad = {a.grad}, b.grad = {b.grad}, "
          f"c.grad = {c.grad}")
    return d


picture = None  # your graph, drawn once the check passes
if report(step1_problem(Value1), "both closures agree with central differences."):
    picture = draw_dot(run_closures_by_hand(Value1))
picture

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# class Value1:
#     """Step 1: data, inputs, operation, and one chain-rule step per node."""
#
#     def __init__(self, data, _children=(), _op="", label=""):
#         self.data = data
#         self.grad = 0.0
#         self._backward = lambda: None  # a leaf passes nothing on
#         self._prev = tuple(_children)
#         self._op = _op
#         self.label = label
#
#     def __repr__(self):
#         return f"Value(data={self.data}, grad={self.grad})"
#
#     def __add__(self, other):
#         other = other if isinstance(other, Value1) else type(self)(other)
#         out = type(self)(self.data + other.data, (self, other), "+")
#
#         def _backward():
#             self.grad += 1.0 * out.grad
#             other.grad += 1.0 * out.grad
#
#         out._backward = _backward
#         return out
#
#     def __mul__(self, other):
#         other = other if isinstance(other, Value1) else type(self)(other)
#         out = type(self)(self.data * other.data, (self, other), "*")
#
#         def _backward():
#             self.grad += other.data * out.grad
#             other.grad += self.data * out.grad
#
#         out._backward = _backward
#         return out
# ```
#
# `+` passes its grad on unchanged (local derivative 1); `*` passes each input the *other*
# input's data. So `c.grad = 1`, `a.grad = b = -3` and `b.grad = a = 2`. Why `+=` and not `=`:
# step 3.
# </details>

# %% [markdown]
# ## Step 2: `backward()` in a topological order
#
# A closure may only run once its node's grad is complete, that is, after the closures of
# every node that *uses* it. A **topological order** lists every node after all of its inputs;
# walked backwards, from the output, it is such an order. Build it with a depth-first visit:
# visit a node's inputs first, then append the node.
#
# **Exercise 2.** Write `topological_order()` (every node of `self`'s graph, inputs first) and
# `backward()`: set the output's grad to 1, then run every node's `_backward` in reversed
# topological order. The check hands your class to `check_value_class`.

# %%
class Value2(Value1):
    """Step 2: backward() runs every closure in reverse topological order."""

    def topological_order(self):
        """Every node of self's graph, each after all of its inputs."""
        raise NotImplementedError("step 2: your topological order")

    def backward(self):
        """Fill every grad of self's graph with d(self)/d(node)."""
        raise NotImplementedError("step 2: your backward()")


# %%
def class_problem(cls, needs):
    """Steps 1 and check_value_class: what is wrong with cls (None: nothing)."""
    problem = step1_problem(cls)
    if problem:
        return f"step 1 first: {problem}"
    result, problem = trying(lambda: check_value_class(cls))
    if problem:
        return f"check_value_class({cls.__name__}) met {problem}"
    if not result.ok:
        return result.message
    missing = [op for op in needs if op not in result.ops]
    if missing:
        return (f"check_value_class found no {', '.join(missing)} in {cls.__name__} "
                f"(it found {', '.join(result.ops)})")
    return None


STEP2_OPS = ("add", "mul")
if report(class_problem(Value2, STEP2_OPS), "check_value_class agrees."):
    print(check_value_class(Value2).message)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# class Value2(Value1):
#     """Step 2: backward() runs every closure in reverse topological order."""
#
#     def topological_order(self):
#         """Every node of self's graph, each after all of its inputs."""
#         order, seen = [], set()
#
#         def visit(v):
#             if id(v) not in seen:
#                 seen.add(id(v))
#                 for child in v._prev:
#                     visit(child)
#                 order.append(v)  # after all of its inputs
#
#         visit(self)
#         return order
#
#     def backward(self):
#         """Fill every grad of self's graph with d(self)/d(node)."""
#         self.grad = 1.0
#         for node in reversed(self.topological_order()):
#             node._backward()
# ```
#
# The visit is recursive, as in the lecture: fine for these small graphs, but a chain of a
# few thousand nodes exceeds Python's recursion limit (microgradnn's own sort uses a loop).
# </details>
#
# **Why the order matters.** `zoo.NoTopoOrder` is the lecture's class with one change: its
# `backward()` runs each node's closure as soon as it reaches the node, walking down from the
# output.
#
# **Predict:** on a graph where a node `a` feeds two other nodes, what goes wrong?

# %%
no_order = check_value_class(zoo.NoTopoOrder)
print(no_order.bug)
print(no_order.message)

# %% [markdown]
# `check_value_class` saw which closure ran when: `a`'s ran before the second node that uses
# `a` had passed its part back, so `a` passed on an incomplete grad. (`no_order.picture()`
# draws the graph it built, with the mutant's grads and the first node whose grad differs from
# microgradnn's in red.)
#
# ## Step 3: `+=`, not `=`: a value used twice
#
# The lecture's one-liners build new operations from `+` and `*`: `-x` is `x * -1`, `x - y`
# is `x + (-y)`, and `2 * x` (a number on the left) calls `x.__rmul__(2)`. With them, values
# used twice are everywhere: `x - x`, `x * x`, a weight in a sum over examples.
#
# **Predict:** in `b = a + a` at `a = 3`, `db/da = 2`. What does a class whose closures
# *set* the grads (`self.grad = ...`) give?

# %%
a = zoo.AssignGrad(3.0, label="a")
b = a + a
b.backward()
print(f"AssignGrad: d(a + a)/da = {a.grad}")
assign = check_value_class(zoo.AssignGrad)
print(assign.bug)
print(assign.message)

# %% [markdown]
# The `+` node runs one closure that writes into `a.grad` twice, once as `self` and once as
# `other`; with `=` the second write replaces the first. `check_value_class` found it by
# starting a closure with its inputs' grads already nonzero (a closure must add to them), then
# showed it on a graph where `x` is used twice. If your step 1 wrote `=`, the check of step 2
# told you already; here you add the one-liners, and the check tries every one of them.
#
# **Exercise 3.** Write `__neg__`, `__sub__`, `__radd__` and `__rmul__` from `+` and `*`.

# %%
class Value3(Value2):
    """Step 3: the one-liners, built from + and *."""

    def __neg__(self):
        raise NotImplementedError("step 3: -self")

    def __sub__(self, other):
        raise NotImplementedError("step 3: self - other")

    def __radd__(self, other):
        raise NotImplementedError("step 3: other + self, other a number")

    def __rmul__(self, other):
        raise NotImplementedError("step 3: other * self, other a number")


# %%
STEP3_OPS = (*STEP2_OPS, "neg", "sub", "radd", "rmul")
passed = report(class_problem(Value3, STEP3_OPS), "neg, sub, radd and rmul agree too.")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# class Value3(Value2):
#     """Step 3: the one-liners, built from + and *."""
#
#     def __neg__(self):
#         return self * -1
#
#     def __sub__(self, other):
#         return self + (-other)
#
#     def __radd__(self, other):
#         return self + other
#
#     def __rmul__(self, other):
#         return self * other
# ```
#
# `-other` works when `other` is a number too. Each one-liner adds nodes to the graph rather
# than new derivatives: its gradient comes from the closures of `+` and `*` you wrote.
# </details>
#
# ## Step 4: `tanh` and `exp`, and their local derivatives
#
# A neuron needs a non-linearity. Both derivatives are easiest written with the op's *output*:
# `d tanh(x)/dx = 1 - tanh(x)²` and `d e^x/dx = e^x`. Inside the closure, the output is
# `out.data` (or a variable the closure keeps), the input is `self.data`.
#
# **Exercise 4.** Write `tanh()` and `exp()`, each with `_op` `"tanh"` or `"exp"` and its
# `_backward`.

# %%
class Value4(Value3):
    """Step 4: tanh and exp."""

    def tanh(self):
        raise NotImplementedError("step 4: tanh, its _op 'tanh' and its _backward")

    def exp(self):
        raise NotImplementedError("step 4: exp, its _op 'exp' and its _backward")


# %%
STEP4_OPS = (*STEP3_OPS, "tanh", "exp")
passed = report(class_problem(Value4, STEP4_OPS), "tanh and exp agree too.")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# class Value4(Value3):
#     """Step 4: tanh and exp."""
#
#     def tanh(self):
#         t = math.tanh(self.data)
#         out = type(self)(t, (self,), "tanh")
#
#         def _backward():
#             self.grad += (1 - t**2) * out.grad
#
#         out._backward = _backward
#         return out
#
#     def exp(self):
#         out = type(self)(math.exp(self.data), (self,), "exp")
#
#         def _backward():
#             self.grad += out.data * out.grad
#
#         out._backward = _backward
#         return out
# ```
#
# `math.tanh` rather than the lecture's `(e^(2x) - 1) / (e^(2x) + 1)`, which overflows to
# `nan` for x near 400.
# </details>
#
# The two classic slips write the derivative with the input: `1 - x²` for tanh, `x` for exp.
# The zoo has both.
#
# **Predict:** at `x = 0.6`, how far is `1 - x²` from `1 - tanh(x)²`? Is the slip easy to see
# by eye in a gradient?

# %%
for mutant in (zoo.TanhUsesInput, zoo.ExpUsesInput):
    found = check_value_class(mutant)
    print(f"{mutant.__name__}: {found.bug}\n  {found.message}")

# %% [markdown]
# `check_value_class` named each bug from the number the closure passed back: `0.64 = 1 -
# 0.6²` where a central difference gives `0.7116`: about 10% off, nothing you would see by
# eye in a gradient. `check_backward` does the same on any graph of yours, with a sentence that
# blames the edge and a picture with that edge in red and every gradient it feeds marked:

# %%
x = zoo.TanhUsesInput(0.5, label="x")
w = zoo.TanhUsesInput(-1.5, label="w")
bias = zoo.TanhUsesInput(0.3, label="bias")
n = x * w + bias
n.label = "n"
o = n.tanh()
o.label = "o"
o.backward()
blame = check_backward(o)
print(blame)
blame.picture(rankdir="TB")

# %% [markdown]
# ## Step 5: `backward()` twice on the same graph
#
# Call `backward()` a second time on the same graph and the closures run again. Every
# closure *adds* (step 3), so what it adds to depends on what the grads held before. The
# lecture's class resets only the output's grad. Here is what the two conventions give on
# `L = ((x * y) * c) * d`, a graph with two interior nodes, `m = x * y` and `n = m * c`:

# %%
def two_passes(cls):
    """x.grad and the interior grads after one backward() and after a second one."""
    x, y = cls(0.5, label="x"), cls(-2.0, label="y")
    c, d = cls(1.5, label="c"), cls(3.0, label="d")
    m = x * y
    n = m * c
    L = n * d
    L.backward()
    once = {"x": x.grad, "m": m.grad, "n": n.grad}
    L.backward()
    twice = {"x": x.grad, "m": m.grad, "n": n.grad}
    return once, twice


def show_two_passes(cls):
    once, twice = two_passes(cls)
    print(f"{cls.__name__:>14}: one pass  " + ", ".join(f"{k}.grad = {v:g}" for k, v in
                                                         once.items()))
    print(f"{'':>14}  two passes " + ", ".join(f"{k}.grad = {v:g}" for k, v in
                                                twice.items()))


show_two_passes(zoo.Value)
print(check_value_class(zoo.Value).notes[0])

# %% [markdown]
# One pass gives `x.grad = y × c × d = -9`. After the second, the lecture's class has
# `n.grad = 6`, because `L`'s closure added `d × 1 = 3` again on top of the old 3; `m.grad`
# holds the old 4.5 plus `c × 6 = 9`; and `x.grad = -36`, four times one pass. The lecture
# never meets this: its training loop builds the graph anew before every `backward()`.
# `check_value_class` does not call it a bug, but adds the note above.
#
# PyTorch (and microgradnn) choose: **leaves accumulate, interior nodes hold this pass's
# values.** A leaf's grad after two passes is the sum of both passes' (that is what lets a
# value used in several losses collect them all); an interior node's grad is recomputed from
# zero. Leaves accumulating is also why a training loop sets the parameters' grads to zero
# before each `backward()` (`zero_grad()`, step 6).
#
# **Exercise 5.** Write `backward()` again so that a second call on the same graph follows
# PyTorch: every interior node's grad (a node with inputs) is set to 0 before the pass, the
# leaves keep theirs.
#
# **Predict:** with that `backward()`, what are `x.grad` and `n.grad` after two passes?

# %%
class Value5(Value4):
    """Step 5: a backward() that may run twice on the same graph."""

    def backward(self):
        """Fill every grad with d(self)/d(node); leaves accumulate across calls."""
        raise NotImplementedError("step 5: reset the interior grads, then back-propagate")


# %%
def step5_problem(cls):
    problem = class_problem(cls, STEP4_OPS)
    if problem:
        return problem
    (once, twice), problem = trying(lambda: two_passes(cls))
    if problem:
        return f"backward() twice raised {problem}"
    for k in ("m", "n"):
        if not math.isclose(twice[k], once[k]):
            return (f"after a second backward(), {k}.grad is {twice[k]:g} where one pass gives "
                    f"{once[k]:g}: reset every interior node's grad before the pass")
    if not math.isclose(twice["x"], 2 * once["x"]):
        return (f"after a second backward(), x.grad is {twice['x']:g}: a leaf keeps its grad "
                f"and adds this pass's ({once['x']:g} + {once['x']:g})")
    return None


if report(step5_problem(Value5), "interior grads restart at 0, leaves accumulate."):
    show_two_passes(Value5)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# class Value5(Value4):
#     """Step 5: a backward() that may run twice on the same graph."""
#
#     def backward(self):
#         """Fill every grad with d(self)/d(node); leaves accumulate across calls."""
#         order = self.topological_order()
#         for node in order:
#             if node._prev:  # an interior node: this pass's value only
#                 node.grad = 0.0
#         self.grad = 1.0
#         for node in reversed(order):
#             node._backward()
# ```
#
# After two passes `x.grad = -18`, twice one pass, and `n.grad = 3`, as after one.
# </details>
#
# The opposite slip resets the leaves, meaning to start afresh, and forgets the interior.
# `zoo.StaleInterior` does that:

# %%
show_two_passes(zoo.StaleInterior)
stale = check_value_class(zoo.StaleInterior)
print(stale.bug)
print(stale.message)

# %% [markdown]
# Its `x.grad` after two passes is -27: neither one pass's -9 (what resetting the leaves was
# meant to give) nor PyTorch's -18, because `m` and `n` still held the first pass's grads and
# passed them on again. `check_value_class` recognises this one as a bug: no convention gives
# these numbers.
#
# ## Step 6: the complete class, and a neuron that learns
#
# Last, powers with a number exponent, `x**k`, with the local derivative `k × x^(k-1)`, and
# division, `a / b = a × b^-1`, so that a squared error reads `(o - y)**2`.
#
# **Exercise 6.** Write `__pow__` (`_op` `f"**{k}"`, as the lecture writes it) and
# `__truediv__`.

# %%
class MyValue(Value5):
    """Step 6: powers and division; the complete class."""

    def __pow__(self, k):
        raise NotImplementedError("step 6: self**k for a number k, and its _backward")

    def __truediv__(self, other):
        raise NotImplementedError("step 6: self / other, from * and **")


# %%
MY_OPS = (*STEP4_OPS, "pow2", "pow3", "inverse", "div")


def step6_problem(cls):
    problem = step5_problem(cls)
    if problem:
        return problem
    return class_problem(cls, MY_OPS)


if report(step6_problem(MyValue), "your class is complete."):
    print(check_value_class(MyValue).message)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# class MyValue(Value5):
#     """Step 6: powers and division; the complete class."""
#
#     def __pow__(self, k):
#         out = type(self)(self.data**k, (self,), f"**{k}")
#
#         def _backward():
#             self.grad += k * self.data ** (k - 1) * out.grad
#
#         out._backward = _backward
#         return out
#
#     def __truediv__(self, other):
#         return self * other**-1
# ```
# </details>
#
# **A neuron that learns.** One tanh neuron with three inputs, `o = tanh(w · x + b)`, on the
# lecture's four examples with targets ±1, trained by gradient descent written out by hand:
# build the graph, zero the parameters' grads (they are leaves: they would accumulate), call
# `backward()`, and move each parameter against its gradient, `p ← p - lr × grad`.
#
# **Predict:** does the loss fall at every one of the 30 steps, with a learning rate of 0.05?

# %%
XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]


def train_neuron(cls, seed, steps=30, lr=0.05):
    """Train one tanh neuron made of cls's Values; return the loss before each step and after."""
    rng = random.Random(seed)
    w = [cls(rng.uniform(-1, 1), label=f"w{i}") for i in range(3)]
    b = cls(rng.uniform(-1, 1), label="b")
    params = [*w, b]
    losses = []
    for _ in range(steps + 1):
        outs = [sum((wi * xi for wi, xi in zip(w, x)), b).tanh() for x in XS]
        loss = sum(((o - y) ** 2 for o, y in zip(outs, YS)), cls(0.0))
        losses.append(loss.data)
        if len(losses) > steps:
            break
        for p in params:  # zero_grad: the parameters are leaves, their grads accumulate
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
    return losses


engine = MyValue if step6_problem(MyValue) is None else zoo.Value
print("training with", "your MyValue" if engine is MyValue
      else "zoo.Value, the lecture's class (until your MyValue passes step 6)")
losses = train_neuron(engine, seed=0)
mine = train_neuron(microgradnn.Value, seed=0)
print("loss: " + "  ".join(f"{v:.3f}" for v in losses[::5]) + f"   (every 5th of {len(losses)})")
print(f"rises: {sum(b > a for a, b in zip(losses, losses[1:]))} of {len(losses) - 1} steps")
gap = max(abs(p - q) for p, q in zip(losses, mine))
print(f"the same losses as with microgradnn's Value, to 1e-12: {gap < 1e-12}")

# %% [markdown]
# The loss falls at every step here, from 4.65 to 0.05, and the same 30 steps with
# microgradnn's own `Value` give the same losses to 1e-12: the engine you wrote (or, until it
# passes, the lecture's) computes what microgradnn computes.
#
# **Your backward() beside microgradnn's.** `compare_backward(root)` runs your class's
# `backward()` once, recording each closure it runs, and steps microgradnn's engine over the
# same graph from all grads at 0, running the same node at each step wherever that is allowed.
# It stops at the first frame where a number differs. Here is `zoo.AssignGrad` on
# `L = x * x + x` at `x = 1.5`, where `dL/dx = 2x + 1 = 4`:
#
# **Predict:** at which step do the two passes first differ, and in which grad?

# %%
x = zoo.AssignGrad(1.5, label="x")
L = x * x + x
L.label = "L"
comparison = compare_backward(L)
print(comparison.message)
print(f"{len(comparison.yours)} frames; the first difference at frame "
      f"{comparison.first_difference}")

# %%
comparison  # both passes, one set of buttons

# %% [markdown]
# In a trusted notebook the buttons step both passes together (*first difference* jumps to the
# frame named above). That frame on the mutant's side, its caption and its picture:

# %%
frame = comparison.yours[comparison.first_difference]
print(frame.caption)
frame.graph(rankdir="TB")

# %% [markdown]
# Step 1 of its `backward()`, the `+` node, passed 1 back to `x*x` and 1 to `x`. At step 2 the
# `*` node ran, and the edges show what it should have added to `x.grad`: 1.5 along each of its
# two edges, so that `x.grad = 1 + 1.5 + 1.5 = 4`, microgradnn's number. The caption says what
# the mutant's closure did instead: `x.grad` went from 1 to 1.5, because it *set* `x.grad`
# (twice) instead of adding, and the 1 from the `+` node was lost.
#
# ## Summary
#
# - A micrograd-style `Value` is a number with its inputs (`_prev`), its operation (`_op`) and a
#   `_backward` closure that adds *the node's grad × local derivative* into each input's grad;
#   microgradnn's pictures and checks read such a class as it is.
# - `backward()` must run the closures in reverse topological order: `NoTopoOrder`, which runs
#   them as it reaches them, passes on incomplete grads, and `check_value_class` says which
#   closure ran too early.
# - Closures must add (`+=`): with `=`, `d(a + a)/da` comes out 1 instead of 2 (`AssignGrad`).
# - tanh's and exp's derivatives are written with their outputs; `1 - x²` and `x` are the
#   classic slips, named by `check_value_class` and blamed on their edge by `check_backward`.
# - A second `backward()` on the same graph: the lecture's class counts the interior again
#   (4 × one pass at `x`), PyTorch's convention accumulates the leaves only (2 ×), and resetting
#   the leaves but not the interior (`StaleInterior`) gives 3 ×, which no convention gives.
# - Your complete class trains a tanh neuron by hand with the same losses as microgradnn's
#   `Value`, and `compare_backward` shows where a buggy `backward()` first parts from a
#   correct one.
