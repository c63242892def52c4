"""Notebook 3: neuron, layer, MLP and XOR (source of 03_neuron_layer_mlp_xor.ipynb)."""

# %% [markdown]
# # 3. Neuron, layer, MLP, and the XOR problem
#
# *Lectures: Neural network basics (lecture 2: a neuron, a layer, the notation
# `z^l = W^l a^(l-1) + b^l`, why a non-linearity, AND/OR/NOT but not XOR, random
# initialisation); Shallow networks (lecture 3: XOR with two hidden neurons, TensorFlow
# Playground); From neural nets to deep learning (lecture 4: the `w_ij^(l)` notation, XOR as an
# OR of ANDs); and the last question of From a linear model to a neural network (lecture 0):
# why deep, not fat?*
#
# **Goal:** see what one neuron, one layer and a stack of layers can compute, and why the
# layers need a non-linearity, random starting weights and, for some functions, depth.
#
# One neuron computes `activation(w . x + b)`: a weighted sum of its inputs plus a bias, passed
# through an activation function. With the **step** activation (1 if the sum is positive, 0
# if negative) it answers yes/no, and its boundary between yes and no is the straight line
# `w . x + b = 0`. This notebook sets such neurons' weights by hand to compute logic
# functions, shows that one neuron cannot compute XOR, solves XOR with a hidden layer, and then
# learns it.

# %%
import itertools
import math

import matplotlib.pyplot as plt
import numpy as np

from microgradnn.data import make_and, make_or, make_xor
from microgradnn.nn import MLP, Layer, Neuron

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
#
# **Predict:** among 61 × 61 × 61 settings of `(w1, w2, b)`, what is the best number of the
# four XOR points one step neuron gets right?

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
# XOR(x1, x2) = (x1 AND NOT x2) OR (x2 AND NOT x1), which lecture 4 writes
# `OR(AND(-g1, g2), AND(g1, -g2))` (its inputs are ±1, so `-g` is NOT g). Each bracket is one
# neuron; the OR on top is a third. The first two form a **hidden layer**: a **layer** is a
# list of neurons that all read the same inputs, and an **MLP** (multi-layer perceptron) is a
# chain of layers.

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
# ## A layer is a matrix
#
# Lecture 2 numbers a layer's weights `w_ij^l`: from neuron `j` of layer `l-1` to neuron `i` of
# layer `l`. Stacked, they make the matrix `W^l` with one **row per neuron** (`N_l` rows,
# `N_(l-1)` columns), and the whole layer is `z^l = W^l a^(l-1) + b^l`, `a^l = sigma(z^l)`. In
# microgradnn, `layer.neurons[i].w[j]` holds `w_ij` (counting from 0).
#
# Lecture 4 writes the same weights the other way round: its `w_ij^(l)` goes from input `i` to
# output `j`, so its matrix has one **column per neuron**, and it adds a row `i = 0` for an
# always-on input `x_0 = 1` whose weights are the biases: a `(1 + d^(l-1)) × d^(l)` matrix, and
# the scores are `s = W^T x` with `x = (1, x_1, ..., x_d)`. Both give the same numbers.
# (PyTorch's `nn.Linear` stores its weight like lecture 2, out × in, and computes a batch with
# the examples as rows: `X W^T + b`.)
#
# **Predict:** for a layer of 4 neurons reading 2 inputs, what shape is lecture 2's `W`, and
# what shape is lecture 4's matrix?


# %%
def layer_matrix(layer):
    """Lecture 2's W (one row per neuron) and b, read from the layer's Neurons."""
    W = np.array([[w.data for w in neuron.w] for neuron in layer.neurons])
    b = np.array([neuron.b.data for neuron in layer.neurons])
    return W, b


def matrix_form(seed):
    """A tanh Layer(2, 4) against both lectures' matrix forms, on the four XOR points."""
    layer = Layer(2, 4, activation="tanh", init="torch", seed=seed)  # "torch": random biases
    W, b = layer_matrix(layer)
    W4 = np.vstack([b, W.T])  # lecture 4: row 0 holds the biases (input x_0 = 1)
    engine = np.array([[a.data for a in layer(x)] for x in X])
    lecture2 = np.array([np.tanh(W @ x + b) for x in X])
    lecture4 = np.array([np.tanh(W4.T @ np.concatenate([[1.0], x])) for x in X])
    batch = np.tanh(X @ W.T + b)  # all four examples at once, as rows
    return {
        "W": W.round(3).tolist(),
        "b": b.round(3).tolist(),
        "W_shape": list(W.shape),
        "lecture4_shape": list(W4.shape),
        "diff_Wx": float(np.abs(engine - lecture2).max()),
        "diff_WTx": float(np.abs(engine - lecture4).max()),
        "diff_batch": float(np.abs(engine - batch).max()),
    }


form = matrix_form(seed=0)
print("lecture 2: W =", form["W"], " b =", form["b"])
print(f"shapes: lecture 2's W {form['W_shape']}, lecture 4's matrix {form['lecture4_shape']}")
print(f"largest difference from the Layer's outputs: W x + b {form['diff_Wx']:.1e}, "
      f"W^T (1, x) {form['diff_WTx']:.1e}, X W^T + b {form['diff_batch']:.1e}")

# %% [markdown]
# ## Learning the weights instead
#
# Step neurons have derivative 0, so gradient descent cannot train them (their `.grad` would
# stay 0). With smooth activations (tanh in the hidden layer, and a logistic output trained
# with binary cross-entropy) the same 2-2-1 shape learns XOR from the four examples.
#
# **Predict:** train ten random initialisations of the 2-2-1 network the same way. How many
# reach 100% accuracy?

# %%
from microgradnn.train import fit, predict


def train_xor(seed, hidden=(2,), epochs=300):
    """A tanh MLP(2, [*hidden, 1]) trained on XOR: Adam, lr 0.1, binary cross-entropy."""
    model = MLP(2, [*hidden, 1], activation="tanh", seed=seed)
    hist = fit(model, X, y_xor, loss="bce_logits", optimizer="adam", lr=0.1, epochs=epochs,
               progress=False)
    return model, hist


runs = {seed: train_xor(seed) for seed in range(10)}
for seed, (_, hist) in runs.items():
    print(f"seed {seed}: loss {hist.train_loss[-1]:.4f}, accuracy {hist.train_acc[-1]:.2f}")
solved = [s for s, (_, h) in runs.items() if h.train_acc[-1] == 1.0]
stuck = [s for s in runs if s not in solved]
print(f"solved: {len(solved)} of 10; stuck: seeds {stuck}")
model = runs[solved[0]][0]
print(f"seed {solved[0]}: logits", predict(model, X).ravel().round(2), "targets:", y_xor)

# %% [markdown]
# Where did the trained hidden layer put the four points? The left plot shows the decision
# regions in the input plane, the right one the points in hidden space with the output
# neuron's line. In the input plane the boundary is two nearly parallel straight lines: they
# enclose a diagonal band holding the two 0s, with one 1 on each side of it.

# %%
from microgradnn.viz.plots import plot_decision_boundary


def hidden_points(model):
    return np.array([[v.data for v in model.layers[0](x)] for x in X])


def plot_hidden(ax, model, title):
    out = model.layers[-1].neurons[0]
    w, b = [wi.data for wi in out.w], out.b.data
    plot_gate(ax, hidden_points(model), y_xor, w, b, title, names, lim=(-1.3, 1.3))
    ax.set_xlabel("h1 = tanh(...)")
    ax.set_ylabel("h2 = tanh(...)")


fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
fig.get_layout_engine().set(wspace=0.12)
plot_decision_boundary(model, X, y_xor, ax=axes[0])
axes[0].set_title(f"input space (learned, seed {solved[0]})")
axes[0].set_xlabel("x1")
axes[0].set_ylabel("x2")
plot_hidden(axes[1], model, "hidden space (learned)")
plt.show()

# %% [markdown]
# Lecture 3 shows the same thing live in [TensorFlow Playground](https://playground.tensorflow.org)
# (by Daniel Smilkov and Shan Carter). Pick the "exclusive or" data set, keep only the
# features X1 and X2, use one hidden layer of 2 neurons with the Tanh activation and press
# play: the output's picture bends into the XOR pattern (press reset for another random start
# when it stalls). Then set the activation to Linear: the section on collapsing layers below
# explains what you see.

# %% [markdown]
# ## Your turn: the loop inside `fit`
#
# `fit` is a loop over epochs. Write it for XOR yourself: in each epoch run the model on all
# four points, take the mean binary cross-entropy of the logits (`loss_fn(predictions, y)`;
# `loss_fn` is `bce_with_logits_loss`), set the gradients to zero (`model.zero_grad()`), call
# `loss.backward()`, move every parameter down its gradient (`p.data -= lr * p.grad` for `p`
# in `model.parameters()`) and record `loss.data`. The check trains a fresh
# `MLP(2, [2, 1], activation="tanh", seed=0)` with your loop (lr 1.0, 300 epochs) and compares
# it with `fit(..., optimizer="sgd")`, epoch by epoch.
#
# <details><summary>Solution</summary>
#
# ```python
#     for _ in range(epochs):
#         loss = loss_fn([model(x) for x in X], y)
#         model.zero_grad()
#         loss.backward()
#         for p in model.parameters():
#             p.data -= lr * p.grad
#         losses.append(loss.data)
# ```
#
# Without `zero_grad()` each `backward()` adds this epoch's gradients to all the earlier ones
# (the leaves accumulate), and the losses part from `fit`'s after the first epoch.
# </details>

# %%
from microgradnn.losses import bce_with_logits_loss


def train_by_hand(model, X, y, lr, epochs, loss_fn=bce_with_logits_loss):
    losses = []
    for _ in range(epochs):
        ...  # your code: forward, loss, zero_grad, backward, update, append loss.data
    return losses


def check_train_by_hand():
    X_c, y_c = make_xor()
    model = MLP(2, [2, 1], activation="tanh", seed=0)
    losses = train_by_hand(model, X_c, y_c, lr=1.0, epochs=300)
    if not losses:
        print("Write the loop body in train_by_hand, then run this cell again.")
        return
    reference = MLP(2, [2, 1], activation="tanh", seed=0)
    hist = fit(reference, X_c, y_c, loss="bce_logits", optimizer="sgd", lr=1.0, epochs=300,
               shuffle=False, progress=False)
    assert len(losses) == 300, f"expected one loss per epoch (300), got {len(losses)}"
    for epoch, (mine, theirs) in enumerate(zip(losses, hist.train_loss)):
        assert math.isclose(mine, theirs, rel_tol=1e-9, abs_tol=1e-12), (
            f"epoch {epoch}: your loss {mine:.6f}, fit's {theirs:.6f}; zero the gradients "
            "before backward() and update with p.data -= lr * p.grad"
        )
    accuracy = ((predict(model, X_c).ravel() > 0) == y_c).mean()
    assert accuracy == 1.0, f"the trained model gets {accuracy:.0%} of XOR right"
    print(f"Correct! loss {losses[0]:.3f} -> {losses[-1]:.4f}, equal to fit's at every epoch")


check_train_by_hand()

# %% [markdown]
# ## Why the stuck seeds are stuck
#
# A few seeds above end with the loss at an odd value and accuracy below 1. Look at
# their hidden layer: it has put points of *different* classes on (almost) the same spot. The
# output neuron sees one point there, so the best it can do is predict the share of 1s among
# the merged points. A 1 and a 0 merged: it predicts 1/2 for both, each costs `ln 2`, and the
# mean over the four points is `ln 2 / 2`. Two 1s and a 0 merged: it predicts 2/3, and the
# mean loss is `(3 ln 3 - 2 ln 2) / 4`. And once tanh units **saturate** at ±1 their
# derivative `1 - tanh^2` is about 0, so gradient descent can no longer pull the points apart.
#
# **Predict:** which of the two values does each stuck seed's loss sit at?


# %%
def merged_groups(H, tol=0.02):
    """The points (indices into X) whose hidden vectors coincide within tol, in groups."""
    groups = []
    for i, h in enumerate(H):
        for group in groups:
            if np.abs(H[group[0]] - h).max() < tol:
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def loss_floor(groups):
    """The lowest mean BCE an output neuron can reach when each group looks like one point."""
    total = 0.0
    for group in groups:
        p = y_xor[group].mean()  # the best prediction for the group: its share of 1s
        if 0 < p < 1:
            total -= len(group) * (p * math.log(p) + (1 - p) * math.log(1 - p))
    return total / len(y_xor)


def stuck_analysis(seed):
    """Train seed's 2-2-1 network; compare its loss with the floor its merged points set."""
    model, hist = runs[seed] if seed in runs else train_xor(seed)
    H = hidden_points(model)
    groups = merged_groups(H)
    mixed = [g for g in groups if 0 < y_xor[g].mean() < 1]
    return {
        "loss": hist.train_loss[-1],
        "accuracy": hist.train_acc[-1],
        "groups": groups,
        "mixed": mixed,
        "floor": loss_floor(groups),
        "max_tanh_slope_merged": max(
            (float((1 - H[i] ** 2).max()) for g in mixed for i in g), default=None
        ),
    }


print(f"ln 2 / 2 = {math.log(2) / 2:.4f}; (3 ln 3 - 2 ln 2) / 4 = "
      f"{(3 * math.log(3) - 2 * math.log(2)) / 4:.4f}")
print("seed | loss   | floor from merged points | merged points of both classes")
for seed in runs:
    a = stuck_analysis(seed)
    merged = ", ".join("+".join(names[i] for i in g) for g in a["mixed"]) or "-"
    print(f"  {seed}  | {a['loss']:.4f} | {a['floor']:.4f}                   | {merged}")

# %% [markdown]
# Every stuck seed's loss sits within a thousandth of the floor its merged points set, and the
# solved seeds merge nothing of different classes (floor 0). Here is the first stuck seed's
# hidden layer, and how flat tanh is at its merged points:

# %%
first = stuck[0]
a = stuck_analysis(first)
print(f"seed {first}: hidden points (h1, h2):")
for name, h in zip(names, hidden_points(runs[first][0])):
    print(f"  {name}: ({h[0]:+.4f}, {h[1]:+.4f})")
print(f"largest tanh slope 1 - h^2 at the merged points: {a['max_tanh_slope_merged']:.1e}")
fig, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
plot_hidden(ax, runs[first][0], f"hidden space, stuck seed {first}")
plt.show()

# %% [markdown]
# The dot at the bottom right is three points, two blue under one red: the output neuron cannot
# tell them apart.
#
# **Predict:** with 4 hidden units instead of 2, trained the same way from seeds 0-9, do more
# or fewer networks solve XOR?

# %%
wider = [train_xor(seed, hidden=(4,))[1].train_acc[-1] == 1.0 for seed in range(10)]
print(f"2-4-1 networks, seeds 0-9: {sum(wider)} of 10 solve XOR (2-2-1: {len(solved)} of 10)")

# %% [markdown]
# More hidden units make such merging less likely: to merge two points, every hidden unit has
# to give them the same value, and with four units that is harder to get stuck in than with
# two. (Notebook 5 comes back to random restarts and local minima.)
#
# ## Without a non-linearity, layers collapse
#
# Lecture 2: "without non-linearity, deep neural networks work the same as linear transform",
# `W1 (W2 x) = (W1 W2) x = W x`. With biases too, a stack of linear layers is one affine map:
# `W = W3 W2 W1` and `b = W3 (W2 b1 + b2) + b3`. However many layers, the boundary stays a line,
# and we saw that no line does XOR.
#
# **Predict:** a 2-8-8-1 network with linear hidden units, trained like the tanh networks above:
# where does its loss end?


# %%
def linear_collapse(seed, epochs=300):
    """A linear 2-8-8-1 net on XOR, its collapsed (W, b), and a tanh 2-8-8-1 net for contrast."""
    out = {}
    for act in ("linear", "tanh"):
        net = MLP(2, [8, 8, 1], activation=act, seed=seed)
        hist = fit(net, X, y_xor, loss="bce_logits", optimizer="adam", lr=0.1, epochs=epochs,
                   progress=False, compiled=True)
        out[act] = {"loss": hist.train_loss[-1], "accuracy": hist.train_acc[-1]}
        if act == "linear":
            W, b = np.eye(2), np.zeros(2)
            for layer in net.layers:
                Wl, bl = layer_matrix(layer)
                W, b = Wl @ W, Wl @ b + bl
            one_map = (X @ W.T + b).ravel()
            out["W"], out["b"] = W.ravel().tolist(), b.tolist()
            out["collapse_diff"] = float(np.abs(one_map - predict(net, X).ravel()).max())
    return out


lin = linear_collapse(seed=0)
print(f"collapsed map: W = [{lin['W'][0]:.1e}, {lin['W'][1]:.1e}], b = {lin['b'][0]:.1e}")
print(f"largest difference between W x + b and the network's output: {lin['collapse_diff']:.1e}")
print(f"linear 2-8-8-1: loss {lin['linear']['loss']:.4f} (ln 2 = {math.log(2):.4f}), "
      f"accuracy {lin['linear']['accuracy']:.2f}")
print(f"tanh   2-8-8-1: loss {lin['tanh']['loss']:.4f}, accuracy {lin['tanh']['accuracy']:.2f}")

# %% [markdown]
# The linear network ends at `ln 2`, the loss of predicting 1/2 for every point: the best a line
# can do on XOR is to say nothing (its collapsed `W` and `b` are about 0), and its accuracy is
# that of coin flips on logits that are all about 0. The same shape with tanh solves XOR.
#
# ## Random, not equal, initialisation
#
# Lecture 2: "Do not initialize the parameters equally, set them randomly". If every weight
# starts at the same value, every hidden unit computes the same number, receives the same
# gradient and takes the same step: the units stay identical clones, and a layer of four acts
# as one unit. (microgradnn starts the biases at 0, which is fine: the weights differ.)
#
# **Predict:** start a 2-4-1 tanh network with every weight and bias equal and train it. After
# 300 epochs, how different are its four hidden units?


# %%
def equal_init(seed, epochs=300):
    """A 2-4-1 tanh net with all parameters equal (a value drawn with seed) vs random init."""
    value = float(np.random.default_rng(seed).uniform(-1, 1))
    result = {"value": value}
    for start in ("equal", "random"):
        net = MLP(2, [4, 1], activation="tanh", seed=seed)
        if start == "equal":
            for p in net.parameters():
                p.data = value
        hist = fit(net, X, y_xor, loss="bce_logits", optimizer="adam", lr=0.1, epochs=epochs,
                   progress=False, compiled=True)
        W, b = layer_matrix(net.layers[0])
        rows = np.column_stack([W, b])
        result[start] = {
            "loss": hist.train_loss[-1],
            "floor": loss_floor(merged_groups(hidden_points(net))),
            "accuracy": hist.train_acc[-1],
            "units": rows.round(4).tolist(),
            "spread": float(np.abs(rows - rows[0]).max()),
        }
    return result


eq = equal_init(seed=0)
print(f"every parameter starts at {eq['value']:.4f}")
for start in ("equal", "random"):
    r = eq[start]
    print(f"{start} start: loss {r['loss']:.4f} (floor from merged points {r['floor']:.4f}), "
          f"accuracy {r['accuracy']:.2f}")
    print(f"  largest difference between hidden units {r['spread']:.2g}; units (w1, w2, b):")
    for row in r["units"]:
        print("   ", row)

# %% [markdown]
# The four equal units are still exactly equal after training (difference 0), so the network
# is a 2-1-1 network in disguise. One unit cannot separate XOR: it merges three points, and the
# loss stalls at their floor, `(3 ln 3 - 2 ln 2) / 4`. Randomly started, the same network
# solves XOR.
#
# ## Why deep, not fat?
#
# Lecture 0 ends with a question: why many layers rather than one wide one? One answer counts
# the straight pieces of the curve a ReLU network draws for one input `x`. A ReLU unit
# `max(0, w x + b)` bends once, at `x = -b / w`. The **tent map**
# `t(x) = 2 max(0, x) - 4 max(0, x - 1/2)`, made of 2 ReLUs, rises from 0 to 1 on `[0, 1/2]`
# and falls back on `[1/2, 1]`. A deep network of `k` layers of 2 ReLUs can apply it `k` times,
# `t(t(...t(x)))`; a fat one puts all its ReLUs in one layer, here with random weights and its
# bends spread over `(0, 1)`. Below, each layer's weights are set by hand and the pieces are
# counted on a grid of 4,097 points.
#
# **Predict:** with 8 ReLUs, how many pieces do 4 layers of 2 make, and one layer of 8?


# %%
GRID = np.linspace(0, 1, 2**12 + 1)


def tent_network(k):
    """k hidden layers of 2 ReLUs computing t(t(...t(x))), weights set by hand."""
    net = MLP(1, [2] * k + [1], activation="relu")
    for i, layer in enumerate(net.layers[:-1]):
        w = [1] if i == 0 else [2, -4]  # layer 1 reads x, the others t(previous) = 2 h1 - 4 h2
        set_weights(layer.neurons[0], w, 0)  # max(0, t)
        set_weights(layer.neurons[1], w, -0.5)  # max(0, t - 1/2)
    set_weights(net.layers[-1].neurons[0], [2, -4], 0)
    return net


def fat_network(H, seed):
    """One hidden layer of H ReLUs with random weights, one bend in each H-th of (0, 1)."""
    net = MLP(1, [H, 1], activation="relu")
    rng = np.random.default_rng(seed)
    for i, neuron in enumerate(net.layers[0].neurons):
        w = rng.choice([-1, 1]) * rng.uniform(0.5, 2)
        bend = (i + rng.uniform(0.1, 0.9)) / H  # spread out, so that no two bends coincide
        set_weights(neuron, [w], -w * bend)
    c = rng.choice([-1, 1], H) * rng.uniform(0.5, 1.5, H)
    set_weights(net.layers[-1].neurons[0], c, 0)
    return net


def bends(net, xs=GRID):
    """The grid points where net's curve changes slope."""
    ys = predict(net, xs[:, None], compiled=True).ravel()
    slopes = np.diff(ys) / np.diff(xs)
    changed = np.abs(np.diff(slopes)) > 1e-6 * max(1.0, np.abs(slopes).max())
    # a bend between two grid points changes two neighbouring slopes: count it once
    first = changed & ~np.concatenate([[False], changed[:-1]])
    return xs[1:-1][first]


def count_pieces(net, xs=GRID):
    """The number of straight pieces of net's curve on the grid xs."""
    return 1 + len(bends(net, xs))


def deep_vs_fat(seed, ks=range(1, 7)):
    return [{"k": k, "relus": 2 * k, "deep": count_pieces(tent_network(k)),
             "fat": count_pieces(fat_network(2 * k, seed))} for k in ks]


print("layers k | ReLUs | deep: pieces | one layer of the same ReLUs: pieces")
for row in deep_vs_fat(seed=0):
    print(f"    {row['k']}    |  {row['relus']:2d}   |     {row['deep']:3d}      |"
          f"   {row['fat']:2d}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.3), layout="constrained")
for ax, net, title in [(axes[0], tent_network(4), "4 layers of 2 ReLUs"),
                       (axes[1], fat_network(8, seed=0), "1 layer of 8 ReLUs")]:
    ax.plot(GRID, predict(net, GRID[:, None], compiled=True).ravel())
    at = bends(net)
    ax.plot(at, predict(net, at[:, None]).ravel(), "o", color="tab:orange", label="bends")
    ax.set_title(f"{title}: {count_pieces(net)} pieces")
    ax.set_xlabel("x")
axes[0].set_ylabel("network output")
axes[1].legend()
plt.show()

# %% [markdown]
# Eight ReLUs: 16 pieces stacked four deep, 9 side by side. Side by side, each ReLU adds one
# bend, so one hidden layer of `H` ReLUs draws at most `H + 1` pieces. Stacked, each tent layer
# folds `[0, 1]` onto itself, so the next layer's tent appears once on every piece of the one
# below: `t(t(x))` is two tents (4 pieces), and `k` layers of 2 ReLUs make `2^k` pieces. To draw
# the 64 pieces of six tent layers (12 ReLUs), one layer would need at least one ReLU per bend:
# 63 or more. Depth reuses what the layers below computed, which is one reason deep networks
# can be small.
#
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
    got = [nand(x).data for x in make_xor()[0]]
    assert got == [1, 1, 1, 0], f"NAND is 1, 1, 1, 0; your neuron gives {got}"
    print("Correct!")

# %% [markdown]
# **2.** Turn the hand-made XOR network into XNOR (1 when the inputs are equal) by changing only
# the output neuron: give its weights and bias. The check builds the hidden layer of `xor_net`
# afresh and puts your output neuron on top.
#
# <details><summary>Solution</summary>
#
# XNOR = NOT (h1 OR h2): output weights `[-1, -1]`, bias `0.5`.
# </details>

# %%
my_out_w, my_out_b = None, None
if my_out_w is None:
    print("Fill in my_out_w and my_out_b, then run this cell again.")
else:
    xnor_net = MLP(2, [2, 1], activation="step", output_activation="step")
    set_weights(xnor_net.layers[0].neurons[0], [1, -1], -0.5)
    set_weights(xnor_net.layers[0].neurons[1], [-1, 1], -0.5)
    set_weights(xnor_net.layers[1].neurons[0], my_out_w, my_out_b)
    got = [xnor_net(x).data for x in make_xor()[0]]
    assert got == [1, 0, 0, 1], f"XNOR is 1, 0, 0, 1; your network gives {got}"
    print("Correct!")

# %% [markdown]
# **3.** How many ReLUs in one hidden layer draw `t(t(x))`, the two tents (4 pieces) of the
# 2-layer tent network? Give the smallest number.
#
# <details><summary>Solution</summary>
#
# 4. The curve's slopes are 4, -4, 4, -4, with bends at 1/4, 1/2 and 3/4: 3 ReLUs must sit
# at the bends, each changing the slope by ±8, and the first slope, 4, is no sum of ±8s, so a
# fourth ReLU makes it. On `[0, 1]`:
#
# `4 max(0, x) - 8 max(0, x - 1/4) + 8 max(0, x - 1/2) - 8 max(0, x - 3/4)`
#
# (With a linear term beside the ReLUs, 3 would do.) The deep network uses 4 too; the gap opens
# from 3 layers on: 6 ReLUs deep, 8 in one layer.
# </details>

# %%
my_relus = None


def check_relus(answer):
    deep = tent_network(2)
    ends = np.concatenate([[0.0], bends(deep), [1.0]])  # where the straight pieces start and end
    mids, h = (ends[:-1] + ends[1:]) / 2, 1e-4
    up, down = (predict(deep, (mids + d)[:, None]).ravel() for d in (h, -h))
    slopes = (up - down) / (2 * h)
    changes = np.diff(slopes)  # what a ReLU at each bend must add to the slope
    # the first piece's slope comes from ReLUs facing left (w < 0) among those, or one more ReLU
    made = any(math.isclose(slopes[0], -sum(c), abs_tol=1e-6)
               for r in range(len(changes) + 1) for c in itertools.combinations(changes, r))
    fewest = len(changes) + (0 if made else 1)
    assert answer == fewest, "count the bends of t(t(x)) in (0, 1), then the first piece"
    print("Correct!")


if my_relus is None:
    print("Fill in my_relus, then run this cell again.")
else:
    check_relus(my_relus)

# %% [markdown]
# ## Summary
#
# - One step neuron draws one line: it computes AND, OR and NOT, but no setting of its
#   weights computes XOR (by algebra, and by trying 226,981 settings: 3 of 4 at best).
# - Two hidden neurons solve XOR by moving the points in hidden space until a line separates
#   them; a layer is `z = W x + b` (lecture 2, one row per neuron), or `s = W^T (1, x)` with
#   the biases as the weights of an always-on input (lecture 4).
# - `fit` is a loop: forward, loss, `zero_grad`, `backward`, `p.data -= lr * p.grad`.
# - Stuck XOR seeds have merged points of different classes in saturated tanh units; their
#   losses sit at the floor that merging sets (`ln 2 / 2`, `(3 ln 3 - 2 ln 2) / 4`).
# - Without a non-linearity a deep network is one affine map and stays at `ln 2` on XOR; with
#   equal starting weights its hidden units stay clones.
# - Depth multiplies pieces: `k` layers of 2 ReLUs draw `2^k`, one layer of `H` at most `H + 1`.
