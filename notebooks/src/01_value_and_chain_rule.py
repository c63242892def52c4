"""Notebook 1: Value and the chain rule (source of 01_value_and_chain_rule.ipynb)."""

# %% [markdown]
# # 1. A number that remembers how it was made: `Value` and the chain rule
#
# *Lecture: Introduction to deep learning (lecture 1), "Backpropagation": forward from left to
# right storing every node's value, then the chain rule from right to left. The worked
# gradient of a sigmoid neuron is from Neural network basics (lecture 2).*
#
# **Goal:** see how `backward()` computes every gradient of a formula with the chain rule, check
# it three ways, and see why this beats nudging each input.
#
# **How to use this notebook.** Click on a grey code cell and press **Shift+Enter**: the cell
# runs, its result appears below it, and the next cell is selected. Run the cells from top to
# bottom (or use *Run > Run All Cells*). The next two cells build a tiny formula and draw it.

# %%
from microgradnn import Value
from microgradnn.viz import draw_dot

# %%
x = Value(2.0, label="x")
w = Value(-3.0, label="w")
b = Value(1.0, label="b")
wx = w * x
wx.label = "wx"
z = wx + b
z.label = "z"
draw_dot(z)

# %% [markdown]
# That is the **computation graph** of `z = w * x + b`, read from left to right:
#
# - each **box** is a `Value`: a name (`label`), a number (`data`) and a gradient (`grad`,
#   not computed yet because we have not asked for it); the colour says what it is (see the
#   legend: an input, a parameter the model will learn, a computed value, or the output);
# - each **oval** is an operation (`*`, `+`) and the arrows show which values went into it;
# - the numbers on the arrows are **local derivatives**: how much the operation's output moves
#   when that one input moves a little. For `w * x` the output moves by `x` per unit of `w`
#   and by `w` per unit of `x`; for `+` it moves by 1 per unit of either input.
#
# Computing the boxes from left to right is the **forward pass**. A `Value` remembers its inputs
# (`_prev`) and its operation (`_op`), so the graph is recorded as you compute:

# %%
print(z)
print("z was made by", z._op.name, "from", z._prev)
print("wx was made by", wx._op.name, "from", wx._prev)

# %% [markdown]
# ## Asking for gradients: `backward()`
#
# `z.backward()` computes, for every value `v` that `z` depends on, the derivative `dz/dv` and
# stores it in `v.grad`. It walks the graph from right to left: the **backward pass**.
#
# **Predict:** with `x = 2`, `w = -3`, `b = 1`, what are `dz/dx`, `dz/dw` and `dz/db`?

# %%
z.backward()
for v in (x, w, b):
    print(f"dz/d{v.label} = {v.grad}")
draw_dot(z)

# %% [markdown]
# Check these against calculus: `z = w x + b` so `dz/dw = x = 2`, `dz/dx = w = -3` and
# `dz/db = 1`, the three numbers printed.
#
# ## The chain rule, one edge at a time
#
# Now put a loss on top: we want `z` to be close to a target `y = 4`, and measure the miss by
# `L = (z - y)**2`. (The gradients of `x`, `w`, `b` still hold `dz/d...` from above, and
# `backward()` *adds* to them, as exercise 3 shows; so we reset them to 0 first.)
#
# **Predict:** `z = -5` misses `y = 4` by 9. Is `dL/dw` positive or negative, that is, should
# `w` go up or down to make the miss smaller?

# %%
y = 4.0
diff = z - y
diff.label = "z - y"
L = diff**2
L.label = "L"
for v in (x, w, b):
    v.grad = 0.0
L.backward()
print(f"L = {L.data}, dL/dw = {w.grad}, dL/dx = {x.grad}, dL/db = {b.grad}")

# %% [markdown]
# `dL/dw` is negative, so *raising* `w` lowers the loss (from `w = -3` towards `w = 1.5`,
# where `z = y`). How does `backward()` get `dL/dw`? The **chain rule**: the derivative along
# a path is the product of the local derivatives on its edges,
#
# $$\frac{dL}{dw} = \frac{dL}{d(z-y)}\cdot\frac{d(z-y)}{dz}\cdot\frac{dz}{d(wx)}\cdot
# \frac{d(wx)}{dw} = 2(z-y)\cdot 1\cdot 1\cdot x = 2 \cdot (-9) \cdot 2 = -36 .$$
#
# The **backward view** writes that product on every edge: each arrow now points from a node
# back to one of its inputs and carries *the node's gradient × local derivative*, which is
# exactly what gets added into the input's `grad`. (Drawn top to bottom this time, with the
# constants folded into their operations, so that it fits the page.)

# %%
draw_dot(L, view="backward", rankdir="TB", hide_constants=True)

# %% [markdown]
# Every gradient in a box is the sum of what arrives on its incoming arrows. Run the same walk
# yourself: visit the nodes from the output back to the inputs (`topological_order()` lists
# them inputs-first, so we reverse it) and let each one pass its gradient to its inputs with
# `_backward()`, the single chain-rule step the engine uses.

# %%
order = L.topological_order()
for node in order:
    node.grad = 0.0
L.grad = 1.0  # dL/dL
for node in reversed(order):
    if node.is_leaf:
        continue
    node._backward()
    sent = ", ".join(
        f"{child.label or child._op.symbol}.grad += {node.grad:g} × {d:g}"
        for child, d in zip(node._prev, node.local_grads())
        if isinstance(child, Value)
    )
    print(f"{node.label or node._op.symbol:>6} ({node._op.name}): {sent}")
print(f"\ndL/dw = {w.grad}")

# %% [markdown]
# The library records the same walk for you, one frame per step, each with a caption and a
# picture (the node that runs is highlighted):

# %%
from microgradnn.viz import backward_steps, save_backward_html

frames = backward_steps(L)
print(len(frames), "frames: the seed, one step per operation, the end")
step = frames[3]
print(step.caption)
step.graph(rankdir="TB", hide_constants=True)

# %% [markdown]
# `BackwardStepper` shows all the frames as one picture with *previous/next* buttons, a slider
# and *play*: press *next* (or the arrow keys) to run `backward()` one step at a time.
# `save_backward_html` writes the same stepper as a small web page: open `backward_steps.html`
# (next to this notebook) in any browser.

# %%
from microgradnn.viz import BackwardStepper

path = save_backward_html(L, "backward_steps.html")
print("wrote", path.name)
BackwardStepper(L, rankdir="TB", hide_constants=True)

# %% [markdown]
# ## A worked example: one sigmoid neuron and a squared error
#
# A neuron with one input computes `s = sigmoid(w x + b)`, where `sigmoid(t) = 1 / (1 + e^-t)`.
# With a target `y`, the squared error is `C = (s - y)**2`. By the chain rule, with
# `sigmoid'(t) = sigmoid(t) (1 - sigmoid(t))` (the lecture's worked example):
#
# $$\frac{\partial C}{\partial w} = 2\,(s - y)\; s\,(1 - s)\; x .$$
#
# Let us compute it by hand and compare with what `backward()` finds.

# %%
import math

x_in, y_true = 1.5, 1.0
x = Value(x_in, label="x")
w = Value(0.8, label="w")
b = Value(-0.5, label="b")
wx = w * x
wx.label = "wx"
t = wx + b
t.label = "t"
s = t.sigmoid()
s.label = "s"
C = (s - y_true) ** 2
C.label = "C"
C.backward()

s_num = 1 / (1 + math.exp(-(0.8 * x_in - 0.5)))
by_hand = 2 * (s_num - y_true) * s_num * (1 - s_num) * x_in
print(f"by hand:    dC/dw = {by_hand:.12f}")
print(f"backward(): dC/dw = {w.grad:.12f}")
assert math.isclose(by_hand, w.grad, rel_tol=1e-12)

# %%
draw_dot(C, view="backward", rankdir="TB", hide_constants=True)

# %% [markdown]
# A third, independent check needs no calculus at all: nudge `w` a tiny bit up and down and
# measure how `C` changes, `(C(w + h) - C(w - h)) / 2h` (a **central difference**).
# `gradcheck` does that for every input and compares with `backward()`.
#
# **Predict:** will the two agree to all the digits printed, or only to some?

# %%
from microgradnn import gradcheck

result = gradcheck(lambda w, b: ((w * x_in + b).sigmoid() - y_true) ** 2, [0.8, -0.5])
print("backward():          dC/dw =", result.analytic[0])
print("finite differences:  dC/dw =", result.numerical[0])
print("all match:", bool(result))

# %% [markdown]
# They agree to about 10 digits, not all 16: a difference quotient with `h = 1e-6` is only an
# approximation (its error shrinks like `h²`, and rounding grows as `h` shrinks), while
# `backward()` is exact up to rounding. That is why `gradcheck` compares with a tolerance.
#
# ## Why backprop, and not finite differences?
#
# Finite differences are simple and need no calculus, so why does every library use
# backpropagation? Count the work. For a loss of `n` parameters, the central difference needs
# **two forward passes per parameter**, `L(p + h)` and `L(p - h)`: `2n` forward passes for all
# `n` gradients. Backprop needs **one forward pass and one backward pass** for all of them at
# once, and a backward pass costs about as much as a forward one (it visits every node once).
# The lecture's networks have more than 100,000 parameters.
#
# Let us count, on small MLPs `2 -> H -> 1` with the four XOR points as data: a wrapper counts
# how often the loss is computed (one call = one forward pass over the data).
#
# **Predict:** an MLP with 257 parameters: how many forward passes for finite differences, and
# how many times slower do you expect them to be than backprop?

# %%
import time

from microgradnn import MLP, mse_loss, no_grad


class CountCalls:
    """Wrap a function and count how often it is called."""

    def __init__(self, fn):
        self.fn = fn
        self.calls = 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


def central_differences(loss_fn, params, h=1e-6):
    """dL/dp for each parameter p from two forward passes, (L(p + h) - L(p - h)) / 2h."""
    grads = []
    with no_grad():  # finite differences need no graph
        for p in params:
            original = p.data
            p.data = original + h
            up = loss_fn().data
            p.data = original - h
            down = loss_fn().data
            p.data = original
            grads.append((up - down) / (2 * h))
    return grads


def backprop(loss_fn, params):
    """dL/dp for every parameter from one forward and one backward pass."""
    for p in params:
        p.grad = 0.0
    loss_fn().backward()
    return [p.grad for p in params]


def seconds(fn, repeat=3):
    """The best of a few timings of fn(): the run least disturbed by other programs."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def gradient_cost(hidden, seed=0):
    """Count the forward passes each method needs for all gradients of MLP(2, [hidden, 1])."""
    model = MLP(2, [hidden, 1], activation="tanh", seed=seed)
    X, targets = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [-1.0, 1.0, 1.0, -1.0]
    params = model.parameters()
    loss_fn = CountCalls(lambda: mse_loss([model(x) for x in X], targets))
    numerical = central_differences(loss_fn, params)
    fd_calls, loss_fn.calls = loss_fn.calls, 0
    analytic = backprop(loss_fn, params)
    bp_calls = loss_fn.calls
    fd_seconds = seconds(lambda: central_differences(loss_fn, params))
    bp_seconds = seconds(lambda: backprop(loss_fn, params))
    return {
        "parameters": len(params),
        "fd_forward_passes": fd_calls,
        "bp_forward_passes": bp_calls,
        "largest_difference": max(abs(a - n) for a, n in zip(analytic, numerical)),
        "slower": fd_seconds / bp_seconds,
    }


print(" H  parameters n   finite differences      backprop        agree to   FD / BP time")
for hidden in (4, 16, 64):
    r = gradient_cost(hidden)
    print(f"{hidden:>2}  {r['parameters']:>12}   {r['fd_forward_passes']:>6} forward passes   "
          f"{r['bp_forward_passes']} forward + 1 backward   {r['largest_difference']:.0e}   "
          f"{r['slower']:>6.0f}×")

# %% [markdown]
# The counts are exactly `2n` against one forward and one backward, and both methods find the
# same gradients (to the finite difference's error). The clock agrees: the last column, how
# many times longer finite differences took, grows with `n`, since their number of passes
# grows with `n` and backprop's does not. At the lecture's 100,000 parameters,
# finite differences would need 200,000 forward passes *per update*; backprop, one forward and
# one backward. Finite differences remain what they are good at: an independent check on small
# examples (`gradcheck`).
#
# ## Exercises
#
# Each exercise has a check cell: put your answer in place of `None` and run the cell. Every
# check builds what it needs afresh, so running it again gives the same verdict. The solutions
# are hidden behind *Solution*; try first.

# %%
def check(yours, expected, tol=1e-9):
    """Compare your answer with the expected one (None means: not tried yet)."""
    if yours is None:
        print("Replace None by your answer, then run this cell again.")
        return
    assert math.isclose(yours, expected, rel_tol=tol, abs_tol=tol), (
        f"not yet: you have {yours}, the answer is different"
    )
    print("Correct!")


# %% [markdown]
# **1.** Write `dC/db` for the sigmoid neuron above by hand, as a formula using `s_num`,
# `y_true` (and `x_in` if needed). The check compares it with `b.grad` from a freshly built
# graph.
#
# <details><summary>Solution</summary>
#
# `t = w x + b` has `dt/db = 1`, so the chain is the same as for `w` without the last factor:
# `my_dC_db = 2 * (s_num - y_true) * s_num * (1 - s_num)`.
# </details>

# %%
my_dC_db = None

b_check = Value(-0.5)  # a fresh graph, so the verdict does not depend on earlier runs
C_check = ((0.8 * x_in + b_check).sigmoid() - y_true) ** 2
C_check.backward()
check(my_dC_db, b_check.grad)

# %% [markdown]
# **2.** A value used twice. For `f = u * u + u` at `u = 3`, what is `df/du`? The picture
# shows the graph (without gradients): `u` feeds the `*` node **twice** and the `+` node once.
# Predict `df/du`, then check; a correct answer shows the backward picture, where the
# contributions of the three uses add up.
#
# <details><summary>Solution</summary>
#
# `df/du = 2u + 1 = 7`: the `*` node sends `u` (= 3) back along each of its two edges, the `+`
# node sends 1, and 3 + 3 + 1 = 7.
# </details>

# %%
u = Value(3.0, label="u")
f = u * u + u
f.label = "f"
draw_dot(f, show_grad=False, edge_labels=False)

# %%
my_df_du = None

u = Value(3.0, label="u")  # a fresh graph each run
f = u * u + u
f.label = "f"
f.backward()
check(my_df_du, u.grad)
draw_dot(f, view="backward") if my_df_du is not None else None  # drawn once the check passed

# %% [markdown]
# **3.** Gradients accumulate. If you call `f.backward()` a second time on the graph of
# exercise 2 without resetting anything, what is `u.grad`? Why do training loops call
# `zero_grad()` before every `backward()`? (Try it in a new cell if you like; the check builds
# its own graph and calls `backward()` exactly twice.)
#
# <details><summary>Solution</summary>
#
# 14. `backward()` *adds* into the gradients of the values you created (the leaves), as PyTorch
# does, so that a value used in several places collects all its contributions. Without a reset
# the second call adds 7 again.
# </details>

# %%
my_u_grad_after_two_calls = None

u = Value(3.0, label="u")  # a fresh graph: backward() runs exactly twice, however often you run
f = u * u + u
f.backward()
f.backward()
check(my_u_grad_after_two_calls, u.grad)

# %% [markdown]
# **4.** Build `tanh` from `exp`. `Value.tanh()` is one node with the local derivative
# `1 - tanh²` (below). Write `my_tanh(x)` using only `exp`, `+`, `-`, `*` and `/`, from
#
# $$\tanh x = \frac{e^{2x} - 1}{e^{2x} + 1},$$
#
# and check that `backward()` through your graph of several nodes gives the same gradient as
# the single node, to 1e-12, at a few points. A correct answer also draws your graph.

# %%
draw_dot(Value(0.5, label="x").tanh(), show_grad=False)


# %%
def my_tanh(x):
    """tanh(x) from exp: (e^(2x) - 1) / (e^(2x) + 1)."""
    return None  # your formula here, using (2 * x).exp()


def tanh_differences(fn, points=(-2.0, -0.5, 0.3, 1.5)):
    """Largest |fn(x) - tanh(x)| and |d fn/dx - d tanh/dx| over the points (fresh graphs)."""
    value_diff = grad_diff = 0.0
    for p in points:
        mine, ref = Value(p), Value(p)
        out_mine, out_ref = fn(mine), ref.tanh()
        out_mine.backward()
        out_ref.backward()
        value_diff = max(value_diff, abs(out_mine.data - out_ref.data))
        grad_diff = max(grad_diff, abs(mine.grad - ref.grad))
    return value_diff, grad_diff


picture = None  # your graph, drawn once your formula is right
if my_tanh(Value(0.0)) is None:
    print("Replace None by your formula, then run this cell again.")
else:
    value_diff, grad_diff = tanh_differences(my_tanh)
    print(f"largest difference: values {value_diff:.1e}, gradients {grad_diff:.1e}")
    assert value_diff < 1e-12 and grad_diff < 1e-12, "not yet: compare with the formula above"
    print("Correct!")
    x = Value(0.5, label="x")
    out = my_tanh(x)
    out.label = "tanh"
    out.backward()
    picture = draw_dot(out, view="backward", rankdir="TB", hide_constants=True)
picture

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def my_tanh(x):
#     e = (2 * x).exp()
#     return (e - 1) / (e + 1)
# ```
#
# Five operations (`*`, `exp`, `-`, `+`, `/`) instead of one, and `e^(2x)` feeds two of them,
# so its gradient is the sum of two contributions; the chain rule through them all gives the
# same number as `1 - tanh²`, up to rounding. Two reasons to prefer the single node: the
# backward pass has fewer steps, and it is safe at large inputs: `my_tanh(Value(400.0))` is
# `inf / inf = nan`, while `Value(400.0).tanh()` is 1 (micrograd's `tanh` has this bug).
# </details>
#
# **5.** An op of your own. Every op is one row of microgradnn's op table: a forward rule and
# its local derivative side by side (see README, "The ops"). `define_op` adds one:
#
# ```python
# define_op("cube", forward=lambda a: a**3, local=lambda a, out: (d_out_d_a,))
# ```
#
# Write the local derivative of `a³` by hand as a function `cube_derivative(a)`. The check
# defines the op with your rule, asks `gradcheck` to compare `backward()` with central
# differences at a few points, and removes the op again.

# %%
from microgradnn import define_op, ops


def cube_derivative(a):
    """d(a**3)/da, written by hand."""
    return None  # your formula here


def cube_gradcheck(derivative, points=(-1.5, 0.5, 2.0)):
    """Define 'cube' with this local derivative, gradcheck it at each point, remove it again."""
    # replace=True: a 'cube' left over from an interrupted run is redefined, not refused
    define_op("cube", lambda a: a**3, lambda a, out: (derivative(a),), replace=True)
    try:
        return [gradcheck(lambda x: x.cube(), [p], raise_exception=False) for p in points]
    finally:
        ops.unregister("cube")


if cube_derivative(1.0) is None:
    print("Replace None by your formula, then run this cell again.")
else:
    results = cube_gradcheck(cube_derivative)
    for r in results:
        print(f"backward() {r.analytic[0]:+.8f}   finite differences {r.numerical[0]:+.8f}")
    assert all(results), "not yet: backward() and finite differences disagree"
    print("Correct!")

# %% [markdown]
# <details><summary>Solution</summary>
#
# `cube_derivative = lambda a: 3 * a**2`. A wrong rule such as `2 * a` runs without any error,
# and only the comparison with finite differences catches it: that is what `gradcheck` is for
# whenever you write a derivative by hand.
# </details>
#
# ## Summary
#
# - A `Value` records the operation and the inputs that made it, so a formula becomes a graph.
# - `backward()` applies the chain rule from the output back to the inputs: each node adds
#   *its gradient × the local derivative* into each input's `grad`, and a value used twice
#   collects both contributions.
# - The gradient of a sigmoid neuron's squared error, `2 (s - y) s (1 - s) x`, matched
#   `backward()` to 12 digits and finite differences to about 10.
# - Finite differences need `2n` forward passes for `n` gradients; backprop needs one forward
#   and one backward, which is why it trains networks with many parameters.
# - Gradients accumulate in the leaves across `backward()` calls: zero them before each step.
