"""Notebook 2: from a linear model to a neuron (source of 02_linear_to_neuron.ipynb)."""

# %% [markdown]
# # 2. From a straight line to a neural network
#
# *Lecture: From a linear model to a neural network (lecture 0): model bias, a curve as a
# constant plus a sum of hard sigmoids, sigmoid and ReLU, y = b + Σ c_i sigmoid(b_i + w_i x).
# The bias as an "always on" input is from Neural network basics (lecture 2).*
#
# **Goal:** build, step by step, a model that can bend, and see gradient descent find its
# pieces.
#
# A linear model `y = b + w x` can only draw straight lines. We write a piecewise-linear curve
# **exactly** as a constant plus a sum of "hard sigmoids", then use the smooth versions (sigmoid,
# ReLU), and finally let a network `MLP(1, [H, 1])` learn such a sum from data.

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
#
# **Predict:** how many hard sigmoids does the curve of these six knots need?


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
from microgradnn.nn import MLP, Neuron

model = MLP(1, [3, 1], activation="sigmoid", seed=0)
for name, p in model.named_parameters():
    print(f"{name:22s} {p.data:+.3f}")

# %% [markdown]
# `layers.0` is the hidden layer (each of its neurons has one weight `w.0` and a bias `b`),
# `layers.1` the output neuron, whose weights are the `c_i`. Every bias starts at 0: the
# initialisation draws the weights at random and leaves the biases at zero (we come back to
# this with ReLUs below).
#
# ### The bias is a weight on an input that is always 1
#
# A neuron with inputs `x_1, ..., x_n` computes `z = w·x + b`. Put an extra input `x_0 = 1` in
# front of the inputs, with weight `w_0 = b`, and the bias becomes an ordinary weight:
#
# $$w \cdot x + b = [b, w_1, \dots, w_n] \cdot [1, x_1, \dots, x_n].$$
#
# The lecture calls it an "always on" feature: it shifts `z` whatever the input, like a prior
# preference for one class. A check with a 3-input neuron (its bias set by hand, as it starts
# at 0):

# %%
neuron = Neuron(3, seed=1)  # linear: z = w·x + b
neuron.b.data = -0.7
x_in = np.array([0.5, -1.0, 2.0])
w_vec = np.array([wi.data for wi in neuron.w])
z_neuron = neuron(x_in).data
z_always_on = np.dot(np.r_[neuron.b.data, w_vec], np.r_[1.0, x_in])
print(f"w·x + b = {z_neuron:+.12f}\n[b, w]·[1, x] = {z_always_on:+.12f}")
assert np.isclose(z_neuron, z_always_on, rtol=0, atol=1e-12)

# %% [markdown]
# ## Learning the pieces with sigmoids
#
# Instead of choosing the weights by hand we let gradient descent find them: `fit` repeats
# *forward, loss, backward, update* (notebook 5 looks inside; `compiled=True` runs the same
# computation faster, notebook 8 explains how). We give the network 4 hidden units; exercise 3
# asks how few would do.
#
# **Predict:** the best straight line had a mean squared error of about 0.26. Will 4 sigmoid
# units get below 0.1? Below 0.01?

# %%
from microgradnn import no_grad
from microgradnn.train import fit
from microgradnn.viz.plots import plot_regression_fit


def sigmoid_fit(H, seed=0):
    """Fit MLP(1, [H, 1]) with sigmoid units; the model and its final mean squared error."""
    model = MLP(1, [H, 1], activation="sigmoid", seed=seed)
    hist = fit(model, X, y, loss="mse", optimizer="adam", lr=0.05, epochs=400, compiled=True,
               progress=False)
    return model, hist.train_loss[-1]


H = 4
sig_model, sig_mse = sigmoid_fit(H)
print(f"{H} sigmoids: mean squared error {sig_mse:.4f} after 400 epochs "
      f"(the best line: {line_mse:.4f})")
plot_regression_fit(sig_model, X, y, show_units=True)

# %% [markdown]
# The dashed lines are each hidden neuron's contribution `c_i sigmoid(b_i + w_i x)` (and
# the output bias is the dotted line): the network has found its own "pieces".
#
# ## ReLUs, and where their kinks start
#
# A hard sigmoid takes two ReLUs, so a ReLU network gets twice as many units: `MLP(1, [8, 1])`.
# Each unit `relu(b_i + w_i x)` is flat on one side of its **kink** at `x = -b_i / w_i` and a
# straight line on the other; to draw the curve, the network must move kinks to the four knots
# at -1.5, -0.5, 0.5 and 1.5.
#
# **Predict:** the biases start at 0 (see the printout above). Where are the eight kinks at the
# start, and how fast will training move them?
#
# The experiment below trains from one seed in mini-batches of 10, and records the loss every
# epoch and the kinks at the start and the end.


# %%
def relu_experiment(seed, spread_kinks=False, epochs=500):
    """Train MLP(1, [8, 1]) with ReLUs: the loss per epoch, the kinks at the start and end."""
    model = MLP(1, [2 * H, 1], activation="relu", seed=seed)
    hidden = model.layers[0].neurons
    if spread_kinks:
        # b = -w k puts the kink of relu(w x + b) at x = k
        spots = np.random.default_rng(seed).uniform(x.min(), x.max(), len(hidden))
        for unit, k in zip(hidden, spots):
            unit.b.data = -unit.w[0].data * k
    start = sorted(-unit.b.data / unit.w[0].data + 0.0 for unit in hidden)
    hist = fit(model, X, y, loss="mse", optimizer="adam", lr=0.03, epochs=epochs, batch_size=10,
               compiled=True, progress=False)
    end = sorted(-unit.b.data / unit.w[0].data for unit in hidden)
    return {"model": model, "loss": hist.train_loss, "start_kinks": start, "end_kinks": end,
            "final_mse": full_data_mse(model)}


def full_data_mse(model):
    """The mean squared error of the model as it is now, on all 60 points."""
    with no_grad():
        return float(np.mean([(model(row).data - target) ** 2 for row, target in zip(X, y)]))


def kinks(xs):
    return "[" + ", ".join(f"{k:+.2f}" for k in xs) + "]"


at_zero = relu_experiment(seed=0, epochs=1500)
print("kinks at the start:      ", kinks(at_zero["start_kinks"]))
for epoch in (100, 500, 1000, 1500):
    print(f"mean squared error after {epoch:4d} epochs: {at_zero['loss'][epoch - 1]:.4f}")
print("kinks after 1500 epochs: ", kinks(at_zero["end_kinks"]))

# %% [markdown]
# All eight kinks start at exactly `x = 0`: the initialisation (He's, the default for ReLU)
# sets every bias to 0, so `-b/w = 0` whatever the random weights. From there the units are
# slow to spread out: the error sits near 0.05 (ten times the sigmoids') from epoch 100 to
# epoch 1000. The network is not trapped, only slow: by epoch 1500 the error has dropped to
# about a third of that, and most kinks have moved to the knots, though none has reached 1.5
# yet (the one far outside the data is either 0 or one straight line over all of x: it adds at
# most a straight line to the fit).
#
# The cure is to start the kinks where the data are. Setting `b_i = -w_i k_i` puts unit i's
# kink at `k_i`; we draw the `k_i` at random over the range of x.
#
# **Predict:** with the kinks spread out from the start, where will the error be after 500
# epochs: about 0.05 again, or much lower?

# %%
spread = relu_experiment(seed=0, spread_kinks=True, epochs=500)
print("kinks at the start:      ", kinks(spread["start_kinks"]))
print(f"mean squared error over epochs 351-400: {np.mean(spread['loss'][350:400]):.4f}")
print(f"mean squared error over epochs 481-500: {np.mean(spread['loss'][480:500]):.4f} "
      f"(kinks at 0: {np.mean(at_zero['loss'][480:500]):.4f})")
print(f"the final model on all 60 points:       {spread['final_mse']:.4f}")
print("kinks after 500 epochs:  ", kinks(spread["end_kinks"]))

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
left.semilogy(at_zero["loss"], label="kinks start at 0")
left.semilogy(spread["loss"], label="kinks start spread out")
left.axhline(line_mse, color="gray", ls=":", label="best straight line")
left.set_xlabel("epoch")
left.set_ylabel("mean squared error")
left.legend(fontsize=8)
plot_regression_fit(spread["model"], X, y, show_units=True, ax=right,
                    title="kinks spread out, after 500 epochs")
right.set_ylim(-2.5, 3.5)  # the units' straight lines run far off beyond their kinks
right.legend(fontsize=7, ncol=3, loc="upper center")
plt.show()

# %% [markdown]
# Spread out from the start, the same network ends its 500 epochs with an error about six
# times lower than with all kinks at 0 (averaged over the last 20 epochs: each epoch's number
# swings with the mini-batches, between about 0.005 and 0.04 here). The final model's error on
# all the points is about twice the noise's (its standard deviation is 0.05, so the best
# possible mean squared error is about 0.0025). The drop comes late for this seed: the error
# still sits near 0.05 until about epoch 400 (see the plot), so 500 epochs is barely enough.
# Where the units start matters as much as how many there are: notebooks 5 and 6 come back to
# initialisation.
#
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
if my_number_of_pieces is None or my_heights is None:
    print("Fill in your answers, then run this cell again.")
else:
    k = np.array([(0.0, 0.0), (1.0, 2.0), (2.0, 2.0), (3.0, -1.0)])
    heights = [y1 - y0 for y0, y1 in zip(k[:-1, 1], k[1:, 1]) if y1 != y0]
    assert my_number_of_pieces == len(heights), "count the sloped pieces"
    assert np.shape(my_heights) == (len(heights),), "one height per piece"
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
if None in (a, p, q):
    print("Fill in a, p and q, then run this cell again.")
else:
    xs = np.linspace(-2, 6, 81)
    ramp = np.clip((xs - 1) / 2, 0, 1)
    assert np.allclose(a * relu(xs - p) - a * relu(xs - q), ramp), "compare with the ramp"
    print("Correct!")

# %% [markdown]
# **3.** Refit the sigmoid network with 1, 2 and 3 hidden neurons: `sigmoid_fit(1)`,
# `sigmoid_fit(2)`, ... (each returns the model and its error; `plot_regression_fit` draws
# one). What is the smallest number of sigmoid units whose mean squared error (seed 0) is below
# 0.02? Why can't 1 neuron do it? The check refits for you.
#
# <details><summary>Solution</summary>
#
# 3. One sigmoid is monotone: `c sigmoid(b + w x)` only rises, or only falls, while the curve
# falls, rises and falls again, so 1 unit stays far off (about 0.17, somewhat better than the
# line because it can make one S-shaped step). Two units can make a dip but not the last fall;
# three, one per sloped piece, follow the curve.
# </details>

# %%
my_smallest_H = None
if my_smallest_H is None:
    print("Fill in my_smallest_H, then run this cell again.")
else:
    errors = {}  # fresh fits every run, from H = 1 up to the first below 0.02
    for h in range(1, 9):
        errors[h] = sigmoid_fit(h, seed=0)[1]
        if errors[h] < 0.02:
            break
    assert my_smallest_H == h, "not yet: refit with H = 1, 2, 3 and compare the errors"
    print("Correct! errors:", ", ".join(f"H = {h}: {e:.3f}" for h, e in errors.items()))

# %% [markdown]
# ## Summary
#
# - A straight line has **model bias**: on this curve its error stays at about 0.26 whatever
#   its two parameters.
# - A piecewise-linear curve is *exactly* a constant plus one scaled hard sigmoid per sloped
#   piece; two ReLUs make one hard sigmoid, and a sigmoid is a smooth stand-in.
# - That sum is a network with one hidden layer, `y = b + Σ c_i sigmoid(b_i + w_i x)`; the bias
#   is just the weight of an extra input that is always 1.
# - Gradient descent finds the pieces itself: 4 sigmoid units fit the curve to within about
#   twice the noise's mean square, and one sigmoid per sloped piece (3 here) is enough.
# - Where units start matters: ReLU biases that start at 0 put every kink at `x = 0`, and the
#   network needs far longer to move them than when the kinks start spread over the data.
