"""Notebook 1: Value and the chain rule (source of 01_value_and_chain_rule.ipynb)."""

# %% [markdown]
# # 1. A number that remembers how it was made: `Value` and the chain rule
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
#   still 0 because we have not asked for it yet); the colour says what it is (see the legend:
#   an input, a parameter the model will learn, a computed value, or the output);
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

# %%
z.backward()
for v in (x, w, b):
    print(f"dz/d{v.label} = {v.grad}")
draw_dot(z)

# %% [markdown]
# Check these against calculus: `z = w x + b` so `dz/dw = x`, `dz/dx = w` and `dz/db = 1`.
#
# ## The chain rule, one edge at a time
#
# Now put a loss on top: we want `z` to be close to a target `y = 4`, and measure the miss by
# `L = (z - y)**2`. (The gradients of `x`, `w`, `b` still hold `dz/d...` from above, and
# `backward()` *adds* to them, as exercise 3 shows; so we reset them to 0 first.)

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
# How does `backward()` get `dL/dw`? The **chain rule**: the derivative along a path is the
# product of the local derivatives on its edges,
#
# $$\frac{dL}{dw} = \frac{dL}{d(z-y)}\cdot\frac{d(z-y)}{dz}\cdot\frac{dz}{d(wx)}\cdot
# \frac{d(wx)}{dw} = 2(z-y)\cdot 1\cdot 1\cdot x .$$
#
# The **backward view** writes that product on every edge: each arrow now points from a node
# back to one of its inputs and carries *the node's gradient x local derivative*, which is
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
        f"{child.label or child._op.symbol}.grad += {d:g} * {node.grad:g}"
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
# `sigmoid'(t) = sigmoid(t) (1 - sigmoid(t))`:
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
# measure how `C` changes, `(C(w + h) - C(w - h)) / 2h`. `gradcheck` does that for every input
# and compares with `backward()`:

# %%
from microgradnn import gradcheck

result = gradcheck(lambda w, b: ((w * x_in + b).sigmoid() - y_true) ** 2, [0.8, -0.5])
print("backward():         ", result.analytic)
print("finite differences: ", result.numerical)
print("all match:", bool(result))

# %% [markdown]
# ## Exercises
#
# Each exercise has a check cell: put your answer in place of `None` and run the cell. The
# solutions are hidden behind *Solution*; try first.


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
# `y_true` (and `x_in` if needed), then compare with `b.grad`.
#
# <details><summary>Solution</summary>
#
# `t = w x + b` has `dt/db = 1`, so the chain is the same as for `w` without the last factor:
# `dC/db = 2 * (s_num - y_true) * s_num * (1 - s_num)`.
# </details>

# %%
my_dC_db = None
check(my_dC_db, b.grad)

# %% [markdown]
# **2.** A value used twice. For `f = u * u + u` at `u = 3`, what is `df/du`? Predict it, then
# run the next cell: the picture shows `u` feeding the `*` node **twice**, and the gradients of
# the three uses add up.
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
f.backward()
my_df_du = None
check(my_df_du, u.grad)
draw_dot(f, view="backward")

# %% [markdown]
# **3.** Gradients accumulate. Run `f.backward()` a second time without resetting anything.
# What is `u.grad` now, and why do training loops call `zero_grad()` before every
# `backward()`?
#
# <details><summary>Solution</summary>
#
# 14. `backward()` *adds* into the gradients of the values you created (the leaves), as PyTorch
# does, so that a value used in several places collects all its contributions. Without a reset
# the second call adds 7 again.
# </details>

# %%
f.backward()
my_u_grad_after_two_calls = None
check(my_u_grad_after_two_calls, u.grad)
