"""Notebook 3: neuron, layer, MLP and XOR (source of 03_neuron_layer_mlp_xor.ipynb)."""

# %% [markdown]
# # 3. Neuron, layer, MLP, and the XOR problem
#
# One neuron computes `activation(w . x + b)`: a weighted sum of its inputs plus a bias, passed
# through an activation function. With the **step** activation (1 if the sum is positive, 0
# if negative) it answers yes/no, and its boundary between yes and no is the straight line
# `w . x + b = 0`. This notebook sets such neurons' weights by hand to compute logic
# functions, shows that one neuron cannot compute XOR, and solves XOR with a hidden layer.

# %%
import itertools

import matplotlib.pyplot as plt
import numpy as np

from microgradnn.data import make_and, make_or, make_xor
from microgradnn.nn import MLP, Neuron

plt.rcParams["figure.dpi"] = 80


def set_weights(neuron, w, b):
    for wi, value in zip(neuron.w, w, strict=True):
        wi.data = float(value)
    neuron.b.data = float(b)


def truth_table(fn, n_inputs=2):
    rows = []
    for bits in itertools.product([0, 1], repeat=n_inputs):
        out = fn(list(bits))
        rows.append((*bits, out.data if hasattr(out, "data") else out))
    return rows


# %% [markdown]
# ## AND, OR, NOT with one neuron each
#
# AND must say 1 only when both inputs are 1: with weights 1 and 1 the sum `x1 + x2` is 2 only
# there, so a bias of -1.5 puts the threshold between 1 and 2. OR needs a threshold between 0
# and 1 (bias -0.5). NOT has one input, a negative weight and a positive bias.

# %%
AND = Neuron(2, activation="step")
set_weights(AND, [1, 1], -1.5)
OR = Neuron(2, activation="step")
set_weights(OR, [1, 1], -0.5)
NOT = Neuron(1, activation="step")
set_weights(NOT, [-1], 0.5)

print("x1 x2 | AND OR")
for (x1, x2, a), (_, _, o) in zip(truth_table(AND), truth_table(OR)):
    print(f" {x1}  {x2} |  {a:.0f}   {o:.0f}")
print("x | NOT")
for x1, n in truth_table(NOT, 1):
    print(f"{x1} |  {n:.0f}")

X, y_and = make_and()
_, y_or = make_or()
assert [AND(x).data for x in X] == list(y_and)
assert [OR(x).data for x in X] == list(y_or)

# %% [markdown]
# Each neuron's boundary `w1 x1 + w2 x2 + b = 0` is a line in the input plane, with the 1s on
# one side and the 0s on the other:


# %%
def plot_gate(ax, X, y, w, b, title, names=None, lim=(-0.5, 1.5)):
    """The points (red: 0, blue: 1), the line w . x + b = 0, and optional point names."""
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", s=150, edgecolors="k", vmin=0, vmax=1)
    if w is not None:
        xs = np.linspace(*lim, 2)
        ax.plot(xs, -(w[0] * xs + b) / w[1], "k--")
    shown = list(names or [])
    for i in range(len(shown)):  # points that (nearly) coincide share one label
        for j in range(i):
            if shown[j] and np.allclose(X[i], X[j], atol=0.1):
                shown[j], shown[i] = f"{shown[j]}, {shown[i]}", ""
                break
    for (u, v), name in zip(X, shown):
        ax.annotate(name, (u, v), textcoords="offset points", xytext=(8, 6), fontsize=9)
    ax.set_xlim(*lim)
    ax.set_ylim(*lim)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title)


fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
plot_gate(axes[0], X, y_and, [1, 1], -1.5, "AND: x1 + x2 - 1.5 = 0")
plot_gate(axes[1], X, y_or, [1, 1], -0.5, "OR: x1 + x2 - 0.5 = 0")
plt.show()

# %% [markdown]
# ## XOR: no single line works
#
# XOR is 1 when exactly one input is 1. Its 1s sit on one diagonal of the square and its 0s on
# the other: no straight line separates them. The algebra agrees. A step neuron would need
#
# - `b < 0` (for input 0,0 -> 0),
# - `w1 + b > 0` and `w2 + b > 0` (for 1,0 -> 1 and 0,1 -> 1),
# - `w1 + w2 + b < 0` (for 1,1 -> 0).
#
# Adding the two middle lines gives `w1 + w2 + 2b > 0`, so `w1 + w2 + b > -b > 0`: the last
# line cannot hold. Let us also just try many weights and count the best score.

# %%
X, y_xor = make_xor()
values = np.linspace(-3, 3, 61)
w1, w2, b = np.meshgrid(values, values, values, indexing="ij")
outputs = (w1[..., None] * X[:, 0] + w2[..., None] * X[:, 1] + b[..., None]) > 0
correct = (outputs == y_xor.astype(bool)).sum(axis=-1)
print(f"tried {correct.size:,} weight settings; best score on XOR: {correct.max()} of 4")

# %% [markdown]
# ## Two hidden neurons solve it
#
# XOR(x1, x2) = (x1 AND NOT x2) OR (x2 AND NOT x1). Each bracket is one neuron; the OR on top
# is a third. The first two form a **hidden layer**: a **layer** is a list of neurons that all
# read the same inputs, and an **MLP** (multi-layer perceptron) is a chain of layers.

# %%
xor_net = MLP(2, [2, 1], activation="step", output_activation="step")
hidden, output = xor_net.layers
set_weights(hidden.neurons[0], [1, -1], -0.5)  # x1 AND NOT x2
set_weights(hidden.neurons[1], [-1, 1], -0.5)  # x2 AND NOT x1
set_weights(output.neurons[0], [1, 1], -0.5)  # OR

print("x1 x2 | h1 h2 | XOR")
for x in X:
    h = hidden(x)
    out = xor_net(x)
    print(f" {x[0]:.0f}  {x[1]:.0f} |  {h[0].data:.0f}  {h[1].data:.0f} |  {out.data:.0f}")
assert [xor_net(x).data for x in X] == list(y_xor)

# %% [markdown]
# ## The hidden layer bends the input space
#
# Look at the four points as the output neuron sees them: not `(x1, x2)` but the hidden
# layer's outputs `(h1, h2)`. Both 0-points land on the same spot, and a single line now
# separates the classes.

# %%
H = np.array([[v.data for v in hidden(x)] for x in X])
names = [f"x=({x[0]:.0f},{x[1]:.0f})" for x in X]
fig, axes = plt.subplots(1, 2, figsize=(8, 3.8))
plot_gate(axes[0], X, y_xor, None, None, "input space: no line works", names)
plot_gate(axes[1], H, y_xor, [1, 1], -0.5, "hidden space: h1 + h2 - 0.5 = 0", names)
axes[1].set_xlabel("h1")
axes[1].set_ylabel("h2")
plt.show()

# %% [markdown]
# ## Learning the weights instead
#
# Step neurons have derivative 0, so gradient descent cannot train them (their `.grad` would
# stay 0). With smooth activations (tanh in the hidden layer, and a logistic output trained
# with binary cross-entropy) the same 2-2-1 shape learns XOR from the four examples. Small
# networks like this one can get stuck, so we train a few random initialisations and keep the
# first that solves it (notebook 5 comes back to this).

# %%
from microgradnn.train import fit, predict

for seed in range(10):
    model = MLP(2, [2, 1], activation="tanh", seed=seed)
    hist = fit(model, X, y_xor, loss="bce_logits", optimizer="adam", lr=0.1, epochs=300,
               progress=False)
    print(f"seed {seed}: loss {hist.train_loss[-1]:.4f}, accuracy {hist.train_acc[-1]:.2f}")
    if hist.train_acc[-1] == 1.0:
        break
print("logits:", predict(model, X).ravel().round(2), "targets:", y_xor)

# %% [markdown]
# Where did the trained hidden layer put the four points? The left plot shows the decision
# regions in the input plane (curved: two lines glued together), the right one the points in
# hidden space with the output neuron's line.

# %%
from microgradnn.viz.plots import plot_decision_boundary

hid = model.layers[0]
H = np.array([[v.data for v in hid(x)] for x in X])
out = model.layers[-1].neurons[0]
w, b = [wi.data for wi in out.w], out.b.data

fig, axes = plt.subplots(1, 2, figsize=(9, 4), layout="constrained")
plot_decision_boundary(model, X, y_xor, ax=axes[0])
axes[0].set_title("input space (learned)")
plot_gate(axes[1], H, y_xor, w, b, "hidden space (learned)", names, lim=(-1.3, 1.3))
axes[1].set_xlabel("h1 = tanh(...)")
axes[1].set_ylabel("h2 = tanh(...)")
plt.show()

# %% [markdown]
# ## Exercises
#
# **1.** Give a step neuron's weights and bias for NAND (NOT AND: 0 only when both inputs are
# 1). Check below.
#
# <details><summary>Solution</summary>
#
# Flip the signs of AND: `w = [-1, -1]`, `b = 1.5`.
# </details>

# %%
my_w, my_b = None, None
if my_w is None:
    print("Fill in my_w and my_b, then run this cell again.")
else:
    nand = Neuron(2, activation="step")
    set_weights(nand, my_w, my_b)
    assert [nand(x).data for x in X] == [1, 1, 1, 0], "NAND is 1, 1, 1, 0"
    print("Correct!")

# %% [markdown]
# **2.** Change the hand-made `xor_net` into XNOR (1 when the inputs are equal) by changing only
# the output neuron.
#
# <details><summary>Solution</summary>
#
# XNOR = NOT (h1 OR h2): output weights `[-1, -1]`, bias `0.5`.
# </details>
#
# **3.** Rerun the training cell with `range(3, 10)`, `range(5, 10)`, ... Which seeds get stuck,
# and at what loss? What does the hidden space look like for a stuck network?
