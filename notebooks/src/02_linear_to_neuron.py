"""Notebook 2: from a linear model to a neuron (source of 02_linear_to_neuron.ipynb)."""

# %% [markdown]
# # 2. From a straight line to a neural network
#
# A linear model `y = b + w x` can only draw straight lines. This notebook builds, step by step,
# a model that can bend: first a **piecewise-linear curve written exactly as a constant plus a
# sum of "hard sigmoids"**, then the smooth versions (sigmoid, ReLU), and finally a network
# `MLP(1, [H, 1])` that learns such a sum from data.

# %%
import matplotlib.pyplot as plt
import numpy as np

from microgradnn import Value
from microgradnn.data import DEFAULT_KNOTS, make_regression_1d, piecewise_linear

plt.rcParams["figure.dpi"] = 80

X, y = make_regression_1d(n=60, noise=0.05, seed=0)
x = X[:, 0]
print(X.shape, y.shape)

# %% [markdown]
# ## The limit of a straight line
#
# The best straight line (least squares) through these points:

# %%
w, b = np.polyfit(x, y, deg=1)
line_mse = np.mean((b + w * x - y) ** 2)
grid = np.linspace(x.min(), x.max(), 300)

fig, ax = plt.subplots(figsize=(6, 3))
ax.scatter(x, y, s=12, color="k", label="data")
ax.plot(grid, b + w * grid, color="C3", label=f"y = {b:.2f} + {w:.2f} x")
ax.legend()
ax.set_title(f"best line: mean squared error {line_mse:.3f}")
plt.show()

# %% [markdown]
# Whatever `w` and `b` we pick, the line cannot follow the curve up and down. This error that
# no choice of parameters can remove is called **model bias**: the model family itself is too
# simple. We need a more flexible family.
#
# ## Every piecewise-linear curve is a constant plus a sum of hard sigmoids
#
# The data above come from a curve through a few points (the *knots*), straight between them
# and flat beyond the ends:

# %%
knots = np.array(DEFAULT_KNOTS)
print(knots)

# %% [markdown]
# A **hard sigmoid** is 0, then a straight ramp, then 1. The library's `hard_sigmoid` ramps over
# `-1/2 < t < 1/2`: it is `0` below, `t + 1/2` in between and `1` above. Shifted and stretched,
# `hard_sigmoid((x - m) / width)` ramps from 0 to 1 between `m - width/2` and `m + width/2`.
#
# The curve climbs (or falls) by `y[k] - y[k-1]` between knot `k-1` and knot `k`, and is flat
# elsewhere. One hard sigmoid per piece, scaled by that climb, does exactly this; adding them
# all to the starting height `y[0]` gives back the curve:
#
# $$f(x) = y_0 + \sum_k (y_k - y_{k-1})\;\mathrm{hard\_sigmoid}\!\left(
# \frac{x - m_k}{x_k - x_{k-1}}\right), \qquad m_k = \frac{x_{k-1} + x_k}{2}.$$


# %%
def hard_sigmoid(t):
    return np.clip(t + 0.5, 0.0, 1.0)


for t in (-2.0, -0.5, -0.2, 0.0, 0.3, 0.5, 2.0):
    assert hard_sigmoid(t) == Value(t).hard_sigmoid().data

pieces = []
for (x0, y0), (x1, y1) in zip(knots[:-1], knots[1:]):
    if y1 != y0:
        pieces.append((y1 - y0) * hard_sigmoid((grid - (x0 + x1) / 2) / (x1 - x0)))
f = knots[0, 1] + sum(pieces)
gap = np.max(np.abs(f - piecewise_linear(grid)))
print(f"{len(pieces)} hard sigmoids; largest difference from the curve: {gap:.2e}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3))
left.axhline(knots[0, 1], color="gray", ls=":", label="constant")
for i, piece in enumerate(pieces):
    left.plot(grid, piece, label=f"piece {i + 1}")
left.set_title("the pieces")
left.legend(fontsize=8)
right.plot(grid, f, lw=3, color="C0", label="constant + sum of pieces")
right.plot(grid, piecewise_linear(grid), "k--", label="the curve")
right.set_title("their sum")
right.legend(fontsize=8)
plt.show()

# %% [markdown]
# More knots make more pieces, and with enough pieces a piecewise-linear curve follows *any*
# continuous curve as closely as we like. So "a constant plus a sum of hard sigmoids" is a
# model that can fit anything, given enough pieces.
#
# ## Smooth and cheap versions: sigmoid and ReLU
#
# The hard sigmoid has corners, and its derivative is 0 on the flat parts. Two common stand-ins:
#
# - the **sigmoid** `1 / (1 + e^(-t))`: smooth; `sigmoid(4 t)` has the same slope at 0 as the
#   hard sigmoid, and a steeper `sigmoid(c t)` comes closer to the corners;
# - the **ReLU** `max(0, t)`: two of them make a hard sigmoid *exactly*:
#   `relu(t + 1/2) - relu(t - 1/2) = hard_sigmoid(t)`.

# %%
t = np.linspace(-3, 3, 301)


def sigmoid(t):
    return 1 / (1 + np.exp(-t))


def relu(t):
    return np.maximum(0.0, t)


two_relus = relu(t + 0.5) - relu(t - 0.5)
print("two ReLUs == hard sigmoid everywhere:", bool(np.allclose(two_relus, hard_sigmoid(t))))

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3))
left.plot(t, hard_sigmoid(t), "k", lw=3, label="hard sigmoid")
left.plot(t, sigmoid(4 * t), label="sigmoid(4t)")
left.plot(t, sigmoid(10 * t), label="sigmoid(10t)")
left.legend()
right.plot(t, relu(t + 0.5), label="relu(t + 1/2)")
right.plot(t, -relu(t - 0.5), label="-relu(t - 1/2)")
right.plot(t, two_relus, "k", lw=3, label="their sum")
right.legend()
plt.show()

# %% [markdown]
# ## That sum *is* a neural network
#
# Replace each hard sigmoid by `c_i sigmoid(b_i + w_i x)` and we get
#
# $$y = b + \sum_{i=1}^{H} c_i\,\mathrm{sigmoid}(b_i + w_i x).$$
#
# Each term is a **neuron**: it weighs its input (`w_i`), adds a bias (`b_i`) and applies an
# **activation function** (sigmoid). The H neurons form a **hidden layer**, and the final sum
# with weights `c_i` and bias `b` is one more neuron, without activation. In microgradnn that is
# `MLP(1, [H, 1], activation="sigmoid")`: 1 input, a hidden layer of H neurons, 1 output.

# %%
from microgradnn.nn import MLP

model = MLP(1, [3, 1], activation="sigmoid", seed=0)
for name, p in model.named_parameters():
    print(f"{name:22s} {p.data:+.3f}")

# %% [markdown]
# `layers.0` is the hidden layer (each of its neurons has one weight `w.0` and a bias `b`),
# `layers.1` the output neuron, whose weights are the `c_i`. Instead of choosing them by hand
# we let gradient descent find them: `fit` repeats *forward, loss, backward, update* (notebook 5
# looks inside; `compiled=True` runs the same computation faster, notebook 8 explains how).
# One sigmoid per sloped piece of the curve would do; we give the network one spare.

# %%
from microgradnn.train import fit
from microgradnn.viz.plots import plot_regression_fit

H = len(pieces) + 1
sig_model = MLP(1, [H, 1], activation="sigmoid", seed=0)
hist = fit(sig_model, X, y, loss="mse", optimizer="adam", lr=0.05, epochs=400, compiled=True,
           progress=False)
print(f"{H} sigmoids: mean squared error {hist.train_loss[-1]:.4f} after {hist.epochs} epochs")
plot_regression_fit(sig_model, X, y, show_units=True)

# %% [markdown]
# The dashed lines are each hidden neuron's contribution `c_i sigmoid(b_i + w_i x)` (and
# the output bias is the dotted line): the network has found its own "pieces". Now the same
# with ReLUs; a hard sigmoid takes two of them, so we give the network twice as many units.
#
# ReLU networks are easily trapped: a unit whose kink sits in the wrong place, or that is
# inactive on every data point, may never move (notebooks 5 and 6 come back to this). So we
# train from a few random starting points, in mini-batches of 10, and keep the best.

# %%
runs = []
for seed in range(4):
    model = MLP(1, [2 * H, 1], activation="relu", seed=seed)
    hist = fit(model, X, y, loss="mse", optimizer="adam", lr=0.03, epochs=500, batch_size=10,
               compiled=True, progress=False)
    print(f"{2 * H} ReLUs, seed {seed}: mean squared error {hist.train_loss[-1]:.4f}")
    runs.append((hist.train_loss[-1], seed, model))
best_loss, best_seed, relu_model = min(runs, key=lambda run: run[0])
print(f"best: seed {best_seed} ({best_loss:.4f}); the best straight line had {line_mse:.4f}")
plot_regression_fit(relu_model, X, y, show_units=True)

# %% [markdown]
# ## Exercises
#
# **1.** A curve has knots at x = 0, 1, 2, 3 with heights 0, 2, 2, -1. How many hard sigmoids
# does it need, and what are their heights (the factor in front of each)? Check with the cell
# below.
#
# <details><summary>Solution</summary>
#
# Two: the piece from 1 to 2 is flat and needs none. The heights are `2 - 0 = 2` and
# `-1 - 2 = -3`, added to the constant 0.
# </details>

# %%
my_number_of_pieces = None
my_heights = None  # e.g. [a, b]
if my_number_of_pieces is None:
    print("Fill in your answers, then run this cell again.")
else:
    k = np.array([(0.0, 0.0), (1.0, 2.0), (2.0, 2.0), (3.0, -1.0)])
    heights = [y1 - y0 for y0, y1 in zip(k[:-1, 1], k[1:, 1]) if y1 != y0]
    assert my_number_of_pieces == len(heights), "count the sloped pieces"
    assert np.allclose(my_heights, heights), "the height of a piece is how much it climbs"
    print("Correct!")

# %% [markdown]
# **2.** Write the ramp that goes from 0 at `x = 1` to 1 at `x = 3` as a combination of two
# ReLUs `a * relu(x - p) - a * relu(x - q)`. What are `a`, `p`, `q`?
#
# <details><summary>Solution</summary>
#
# The ramp rises by 1 over a width of 2, so its slope is `a = 1/2`; it starts at `p = 1` and
# stops rising at `q = 3`: `relu(x - 1)/2 - relu(x - 3)/2`.
# </details>

# %%
a, p, q = None, None, None
if a is None:
    print("Fill in a, p and q, then run this cell again.")
else:
    xs = np.linspace(-2, 6, 81)
    assert np.allclose(a * relu(xs - p) - a * relu(xs - q), np.clip((xs - 1) / 2, 0, 1))
    print("Correct!")

# %% [markdown]
# **3.** Refit the sigmoid network with 1, 2 and 8 hidden neurons (change `H`). How does
# the error change? Why can't 1 neuron do it?
