"""Notebook 6: activations and vanishing gradients (source of the .ipynb of the same name)."""

# %% [markdown]
# # 6. Activations and vanishing gradients
#
# *Lectures: From neural nets to deep learning (lecture 4): backprop as the delta recursion,
# "the vanishing gradient issue" and its possible cures, ReLU, dead neurons, leaky and
# parametric ReLU. The sigmoid and tanh derivatives ("saturates, derivatives vanish") are from
# Shallow networks (lecture 3).*
#
# **Goal:** measure how the gradient shrinks, or grows, on its way back through a deep network,
# see why, and try the cures the lecture lists.
#
# Backpropagation multiplies local derivatives along every path from the loss back to a
# weight. In a deep network those paths are long: if the factors are mostly smaller than 1 the
# product shrinks towards 0 and the first layers barely learn (**vanishing gradients**); if they
# are mostly larger than 1 it blows up (**exploding gradients**).

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from microgradnn import Value, no_grad
from microgradnn.data import make_moons
from microgradnn.losses import bce_with_logits_loss
from microgradnn.nn import MLP
from microgradnn.optim import SGD, clip_grad_norm_
from microgradnn.train import evaluate, fit

plt.rcParams["figure.dpi"] = 80

# %% [markdown]
# ## Saturation: where the derivative vanishes
#
# We let the engine compute each activation's derivative: `backward()` on `f(t)` leaves
# `f'(t)` in `t.grad`.


# %%
def derivative(fn, t):
    v = Value(t)
    fn(v).backward()
    return v.grad


ts = np.linspace(-6, 6, 241)
activations = {"sigmoid": Value.sigmoid, "tanh": Value.tanh, "relu": Value.relu}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for name, fn in activations.items():
    axes[0].plot(ts, [fn(Value(t)).data for t in ts], label=name)
    grads = [derivative(fn, t) for t in ts]
    axes[1].plot(ts, grads, label=f"{name}': max {max(grads):.2f}")
axes[0].set_title("activation")
axes[1].set_title("derivative (from backward())")
for ax, where in zip(axes, ("upper left", "center right")):
    ax.set_xlabel("t")
    ax.legend(loc=where, fontsize=9)
plt.show()

# %% [markdown]
# The sigmoid's derivative is `s (1 - s)`, at most 1/4; tanh's is `1 - tanh²`, at most 1.
# Both are almost 0 once `|t|` is a few units: the unit is **saturated**. Take the lecture's
# tanh neuron with `w = 2`, `b = 6`.
#
# **Predict:** at `x = 18` the neuron computes `tanh(42)`. How large is `d out / d w` there?

# %%
for x in (18.0, -10.0, -3.0):
    w, b = Value(2.0), Value(6.0)
    out = (w * x + b).tanh()
    out.backward()
    print(f"x = {x:+5.1f}: tanh({2 * x + 6:+.0f}) = {out.data:+.12f}, d out / d w = {w.grad:.3g}")

# %% [markdown]
# At `x = 18` the output is 1 to the last digit and the gradient is exactly 0: whatever the
# loss, this weight does not move.
#
# ## Backprop by hand: the delta recursion
#
# Let's redo what `backward()` does for a whole network, the way the lecture writes it. Layer
# `l` has pre-activations (signals) `s_j^l = sum_i w_ij^l x_i^(l-1) + b_j^l` and outputs
# `x_j^l = tanh(s_j^l)`; the last layer is linear, `x^L = s^L`. For one example with squared
# error `e = (y - s^L)^2`, define `delta_j^l = de / ds_j^l`. Then
#
# $$\delta^L = -2\,(y - s^L), \qquad
# \delta_j^l = \sum_k \delta_k^{l+1}\, w_{jk}^{l+1}\, \tanh'(s_j^l), \qquad
# \frac{\partial e}{\partial w_{ij}^l} = \delta_j^l\, x_i^{l-1}.$$
#
# The deltas are computed **backwards**, from the output layer to the first: that is
# backpropagation. In matrix form, with `W^l[i, j] = w_ij^l`,
# `delta^l = (W^(l+1) @ delta^(l+1)) * tanh'(s^l)` and the gradient of `W^l` is the outer
# product of `x^(l-1)` and `delta^l`. Since `ds_j^l / db_j^l = 1`, `delta_j^l` is also the
# gradient of the bias `b_j^l`.


# %%
def delta_recursion(model, x_n, y_n, phi, phi_prime):
    """The lecture's backprop with numpy: the deltas and dE/dW of every layer, by hand."""
    W = [np.array([[n.w[i].data for n in layer.neurons] for i in range(layer.nin)])
         for layer in model.layers]
    b = [np.array([n.b.data for n in layer.neurons]) for layer in model.layers]
    xs, ss = [np.asarray(x_n)], []
    for l in range(len(W)):
        s = W[l].T @ xs[-1] + b[l]
        ss.append(s)
        xs.append(phi(s) if l < len(W) - 1 else s)
    deltas = [None] * len(W)
    deltas[-1] = -2 * (y_n - ss[-1])
    for l in range(len(W) - 2, -1, -1):
        deltas[l] = (W[l + 1] @ deltas[l + 1]) * phi_prime(ss[l])
    return deltas, [np.outer(xs[l], deltas[l]) for l in range(len(W))]


def engine_gradients(model, x_n, y_n):
    """The same gradients from backward(): per layer, dE/dW and dE/db."""
    model.zero_grad()
    ((y_n - model(list(x_n))) ** 2).backward()
    dW = [np.array([[n.w[i].grad for n in layer.neurons] for i in range(layer.nin)])
          for layer in model.layers]
    db = [np.array([n.b.grad for n in layer.neurons]) for layer in model.layers]
    return dW, db


model = MLP(2, [3, 2, 1], activation="tanh", seed=3)
x_n, y_n = np.array([0.5, -1.0]), 0.8
deltas, by_hand = delta_recursion(model, x_n, y_n, np.tanh, lambda s: 1 - np.tanh(s) ** 2)
dW, db = engine_gradients(model, x_n, y_n)
for l in range(len(deltas)):
    print(f"layer {l + 1}: delta = {np.round(deltas[l], 5)}")
    print(f"  dE/dW by hand:\n{np.round(by_hand[l], 6)}\n  engine .grad:\n{np.round(dW[l], 6)}")
    assert np.allclose(by_hand[l], dW[l], atol=1e-12) and np.allclose(deltas[l], db[l], atol=1e-12)
print("the delta recursion and backward() agree on every weight and bias")

# %% [markdown]
# `delta^1` is `delta^L` multiplied, once per layer in between, by weights `w` and a factor
# `tanh'(s)`. Each `tanh'` is at most 1 and each sigmoid' at most 1/4; the weights can be
# smaller or larger than 1. The product of many such factors is what reaches the first layer.
#
# ## Measuring it: the delta of every layer in a deep network
#
# A deep, narrow network: 12 hidden layers of 16 units and one linear output, on 8 two-moons
# points with the cross-entropy loss `bce_with_logits_loss`. `forward` runs the network with
# plain `Value` ops and keeps every signal `s`, so after `backward()` each `s.grad` is its
# `delta` (times 1/8, because the loss is the mean over the 8 points; we multiply that back).
# We summarise each layer by its mean `|delta|`, and the network by the ratio
# **first hidden layer / last hidden layer**: 1 means the first layer gets as much gradient as
# the last, 1e-6 means a millionth. (The output layer is left out of the ratio: it has no
# activation, so it is not part of the product.) Each network starts with microgradnn's default
# weights for its activation (Xavier for sigmoid and tanh, He for ReLU: scaled so that a signal
# keeps roughly its size from layer to layer), times a `scale` we vary later. The two options
# `residual` and `normalise` are cures, used further down.

# %%
DEPTH, WIDTH = 12, 16
X_moons, y_moons = make_moons(n=100, noise=0.1, seed=0)
X8, y8 = X_moons[:8], y_moons[:8]  # 4 points of each class


def deep_net(activation, scale=1.0, seed=0):
    net = MLP(2, [WIDTH] * DEPTH + [1], activation=activation, seed=seed)
    for layer in net.layers:
        for neuron in layer.neurons:
            for w in neuron.w:
                w.data *= scale
    return net


def standardise(S, eps=1e-5):
    """Each unit's signals minus their mean over the batch, over their standard deviation."""
    columns = []
    for col in zip(*S):
        mean = Value.sum(col) / len(col)
        var = Value.sum([(s - mean) ** 2 for s in col]) / len(col)
        columns.append([(s - mean) / (var + eps) ** 0.5 for s in col])
    return [list(row) for row in zip(*columns)]


def forward(net, X, residual=False, normalise=False):
    """The outputs for the rows of X, and each hidden layer's signals s (one list per row)."""
    phi = getattr(Value, net.activation)
    H = [list(x) for x in X]
    signals = []
    *hidden, output = net.layers
    for l, layer in enumerate(hidden):
        S = [[Value.sum([w * h for w, h in zip(n.w, row)] + [n.b]) for n in layer.neurons]
             for row in H]
        signals.append(S)
        if normalise:
            S = standardise(S)
        A = [[phi(s) for s in row] for row in S]
        if residual and l > 0:  # h <- h + f(h); layer 1 changes the width, so it has no skip
            A = [[h + a for h, a in zip(h_row, a_row)] for h_row, a_row in zip(H, A)]
        H = A
    unit = output.neurons[0]
    outs = [Value.sum([w * h for w, h in zip(unit.w, row)] + [unit.b]) for row in H]
    return outs, signals


def gradient_profile(net, residual=False, normalise=False):
    """Mean |delta| of each hidden layer, their first / last ratio, and the signals' values."""
    net.zero_grad()
    outs, signals = forward(net, X8, residual, normalise)
    loss = bce_with_logits_loss(outs, list(y8))
    loss.backward()
    delta = [len(X8) * float(np.mean([abs(s.grad) for row in S for s in row])) for S in signals]
    s_values = np.array([[[s.data for s in row] for row in S] for S in signals])
    return {"loss": loss.data, "delta": delta, "ratio": delta[0] / delta[-1], "s": s_values}


# %% [markdown]
# **Predict:** in the 12-layer sigmoid network, how much smaller is the first hidden layer's
# delta than the last one's: 10 times? a thousand times? a million? And with tanh or ReLU?


# %%
def vanishing_experiment(seed):
    """Per activation at its default init: the delta ratio first / last hidden layer, the
    spread (largest / smallest hidden-layer delta) and the full profile."""
    profiles = {act: gradient_profile(deep_net(act, seed=seed)) for act in activations}
    summary = {act: {"ratio": p["ratio"], "spread": max(p["delta"]) / min(p["delta"])}
               for act, p in profiles.items()}
    return summary, profiles


vanishing = {}
for seed in (0, 1, 2):
    vanishing[seed], seed_profiles = vanishing_experiment(seed)
    if seed == 0:
        profiles = seed_profiles  # drawn below
print(f"{'':8s}  delta ratio hidden layer 1 / {DEPTH}     largest / smallest hidden delta")
print(f"{'seed':8s}  {'0':>8s} {'1':>8s} {'2':>8s}      {'0':>8s} {'1':>8s} {'2':>8s}")
for act in activations:
    ratios = " ".join(f"{vanishing[seed][act]['ratio']:8.2g}" for seed in vanishing)
    spreads = " ".join(f"{vanishing[seed][act]['spread']:8.2g}" for seed in vanishing)
    print(f"{act:8s}  {ratios}      {spreads}")

fig, ax = plt.subplots(figsize=(7, 3.8))
for act, p in profiles.items():
    ax.plot(range(1, DEPTH + 1), p["delta"], marker="o", label=act)
ax.set_yscale("log")
ax.set_xlabel("hidden layer (1 = next to the input)")
ax.set_ylabel("mean |delta|")
ax.set_title("gradient reaching each hidden layer (default init)")
ax.legend()
plt.show()

# %% [markdown]
# Read the table (three seeds, three different random networks) and the picture of seed 0
# (logarithmic axis; backprop runs from right to left). With sigmoid units the delta shrinks
# at every layer going back, by roughly the same factor each time: the first hidden layer gets
# about a ten-millionth of what the last one gets, and hardly learns. With tanh (derivative 1
# at 0) and ReLU (derivative exactly 1 wherever a unit is active) the twelve hidden layers'
# deltas stay within a factor of a few, at most a few tens, of each other: no vanishing.
#
# ## tanh with small and large weights: vanishing and exploding
#
# The lecture's mechanism: weights too big make `|s|` big, the tanh saturates, `tanh'(s)` is
# small, so the delta shrinks. We scale every weight of the tanh network by `scale` and
# measure, for each scale, the share of saturated units (`tanh'(s) < 0.1`, that is
# `|tanh(s)| > 0.95`), the mean `tanh'` and the delta ratio.
#
# **Predict:** at `scale = 4` most units saturate and `tanh'` is small. Will the first layer
# then get less gradient than the last (ratio below 1), or more?

# %%
SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


def init_scale_sweep(seed):
    """For each weight scale of the tanh network: saturated share, mean tanh', delta ratio."""
    rows = []
    for scale in SCALES:
        p = gradient_profile(deep_net("tanh", scale, seed=seed))
        tanh_prime = 1 - np.tanh(p["s"]) ** 2
        rows.append({"scale": scale, "saturated": float(np.mean(tanh_prime < 0.1)),
                     "mean_tanh_prime": float(np.mean(tanh_prime)), "ratio": p["ratio"],
                     "delta": p["delta"]})
    return rows


sweeps = {seed: init_scale_sweep(seed) for seed in (0, 1, 2)}
sweep = sweeps[0]  # drawn below
print("        seed 0                    delta ratio first / last hidden layer")
print("scale   saturated  mean tanh'     seed 0    seed 1    seed 2")
for i, r in enumerate(sweep):
    ratios = "".join(f"{sweeps[seed][i]['ratio']:10.2g}" for seed in sweeps)
    print(f"{r['scale']:5.2f}  {r['saturated']:10.0%}  {r['mean_tanh_prime']:10.2f}  {ratios}")

fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8))
for r in sweep:
    axes[0].plot(range(1, DEPTH + 1), r["delta"], marker="o", ms=3, label=f"scale {r['scale']}")
axes[0].set_yscale("log")
axes[0].set_xlabel("hidden layer")
axes[0].set_ylabel("mean |delta|")
axes[0].set_title("tanh network: delta per layer")
axes[0].legend(fontsize=8)
axes[1].loglog([r["scale"] for r in sweep], [r["ratio"] for r in sweep], marker="o")
axes[1].axhline(1.0, color="grey", lw=0.8)
axes[1].set_xticks(SCALES, [str(scale) for scale in SCALES], minor=False)
axes[1].minorticks_off()
axes[1].set_xlabel("weight scale (1 = Xavier)")
axes[1].set_ylabel("delta ratio first / last hidden layer")
axes[1].set_title("vanishing below, exploding above")
plt.tight_layout()
plt.show()

# %% [markdown]
# Both halves of the story are in the table:
#
# - **Small weights** (scale 0.25 and 0.5): no unit saturates and `tanh'` is about 1, yet the
#   delta vanishes (a ratio of about 1e-7 at scale 0.25). Each layer multiplies it by weights
#   that are too small: the product of the `w`s, not of the `tanh'`s, shrinks.
# - **Large weights** (scale 2 and 4): the lecture's mechanism is there (at scale 4 more than
#   half of the units are saturated and the mean `tanh'` drops to about a quarter), but the
#   weights multiplying the delta are 4 times larger too, and they win: the delta **grows**
#   going back, and at scale 4 the first layer gets a hundred to a few hundred times more
#   gradient than the last. These are **exploding gradients**: the first layers take huge,
#   erratic steps.
# - In between (scale 1, Xavier's choice) the ratio stays within a factor of about 4 of 1.
#
# So careful initialisation matters: only near the middle scale does every layer get a gradient
# of useful size.
#
# ## The cures
#
# The lecture lists cures beyond ReLU: skip connections, careful initialisation, internal
# normalisation, gradient normalisation. We try each on the sigmoid network that lost a factor
# of about 1e-7 above.
#
# **Careful initialisation.** Near 0 the sigmoid is `1/2 + t/4`: a quarter of tanh's slope
# (`sigmoid(t) = (1 + tanh(t/2)) / 2`). Glorot and Bengio (2010) therefore advise sigmoid
# weights 4 times wider than for tanh, which is `scale=4` here.
#
# **Skip connections.** A residual layer computes `h <- h + f(h)` instead of `h <- f(h)`, so
# its derivative is `1 + f'` instead of `f'`: the delta has a path back that no small `w phi'`
# multiplies (the lecture: "escape some `w phi'`").
#
# **Normalisation.** Standardise every unit's signal over the batch before the activation,
# `(s - mean) / std` (`standardise` above, written with `Value` ops, so `backward()` goes
# through it): whatever the weights do, each layer's sigmoid sees inputs of mean 0 and standard
# deviation 1, where it is far from saturated. (This is batch normalisation without its learned
# scale and shift.)
#
# **Predict:** which of the three brings the ratio closest to 1?


# %%
def sigmoid_slope(s):
    """Mean of 4 × sigmoid'(s) over all signals: 1 when every unit sits at its steepest point."""
    sig = 1 / (1 + np.exp(-s))
    return float(np.mean(4 * sig * (1 - sig)))


def cures_experiment(seed):
    """Delta ratio of the deep sigmoid network, plain and with each cure."""
    runs = {
        "plain": gradient_profile(deep_net("sigmoid", seed=seed)),
        "4× wider init": gradient_profile(deep_net("sigmoid", 4.0, seed=seed)),
        "skip connections": gradient_profile(deep_net("sigmoid", seed=seed), residual=True),
        "normalisation": gradient_profile(deep_net("sigmoid", seed=seed), normalise=True),
    }
    summary = {name: p["ratio"] for name, p in runs.items()}
    summary["slope 4×"] = sigmoid_slope(runs["4× wider init"]["s"])
    return summary, runs


cures = {}
for seed in (0, 1, 2):
    cures[seed], seed_runs = cures_experiment(seed)
    if seed == 0:
        cure_runs = seed_runs  # drawn below
print("12 sigmoid layers, delta ratio first / last hidden layer")
print(f"{'':17s}  {'seed 0':>8s}  {'seed 1':>8s}  {'seed 2':>8s}")
for name in cure_runs:
    print(f"{name:17s}  " + "  ".join(f"{cures[seed][name]:8.2g}" for seed in cures))
print("mean 4 × sigmoid'(s) at the 4× init, seeds 0-2: "
      + ", ".join(f"{cures[seed]['slope 4×']:.2f}" for seed in cures))
print(f"mean tanh'(s) of the tanh network, seed 0:       "
      f"{np.mean(1 - np.tanh(profiles['tanh']['s']) ** 2):.2f}")

fig, ax = plt.subplots(figsize=(7, 3.8))
for name, p in cure_runs.items():
    ax.plot(range(1, DEPTH + 1), p["delta"], marker="o", label=name)
ax.set_yscale("log")
ax.set_xlabel("hidden layer")
ax.set_ylabel("mean |delta|")
ax.set_title("12 sigmoid layers, seed 0: plain and with each cure")
ax.legend()
plt.show()

# %% [markdown]
# - The 4 times wider initialisation lifts the ratio from about 1e-7 to a few thousandths:
#   four to five orders of magnitude. So initialisation *can* make up for most of sigmoid's
#   1/4. What remains shows in the last line: the units sit further from their steepest point
#   (mean slope about 0.55 of the maximum, against 0.95 for tanh). The reason is that the
#   sigmoid's outputs are all positive, about 1/2, not centred at 0 as tanh's are: each layer's
#   signal gets an extra `1/2 × (sum of the unit's weights)`, like a random bias, that pushes it
#   off centre. One reason tanh, or ReLU, is preferred in hidden layers.
# - With skip connections the ratio is a few (3 to 6): the plain product of small factors is
#   gone, and of the three cures this one comes closest to 1.
# - With normalisation it is some tens: nothing vanishes any more; the delta now even grows a
#   little at every layer going back (deep normalised networks without skip connections are
#   known to do that at initialisation, which is one reason the two are used together).
#
# **Gradient clipping** (the lecture's "gradient normalisation") treats the symptom instead:
# before each step, if the gradient's total length (its norm over all parameters) is above
# `max_norm`, scale it down to `max_norm`, keeping its direction. `clip_grad_norm_` does that
# in place, as PyTorch's function of the same name. Its target is exploding gradients: here a
# ReLU network whose weights start 1.5 times larger than He's, so that the delta grows on its
# way back. The table gives its growth per layer as measured: the first / last ratio is the
# product of 11 layer-to-layer factors, so their typical size is its 11th root.
#
# **Predict:** one step of gradient descent with `lr = 0.1` on its 8 points, as it is and
# clipped to norm 1: which lowers the loss?


# %%
def batch_loss(net):
    with no_grad():
        return bce_with_logits_loss(forward(net, X8)[0], list(y8)).data


def clipping_experiment(seed, lr=0.1, max_norm=1.0):
    """One SGD step on an exploding ReLU network, without and with clip_grad_norm_."""
    result = {}
    for clip in (False, True):
        net = deep_net("relu", 1.5, seed=seed)
        p = gradient_profile(net)
        params = net.parameters()
        norm = math.sqrt(math.fsum(q.grad**2 for q in params))
        if clip:
            clip_grad_norm_(params, max_norm)
        SGD(params, lr=lr).step()
        result["clipped" if clip else "unclipped"] = batch_loss(net)
    result.update(before=p["loss"], grad_norm=norm, ratio=p["ratio"])
    return result


clipping = {seed: clipping_experiment(seed) for seed in (0, 1, 2)}
print("ReLU, He's weights × 1.5, one SGD step with lr 0.1 on the 8 points")
print("seed  delta ratio  per layer  gradient norm  loss before  after: unclipped  clipped to 1")
for seed, c in clipping.items():
    per_layer = c["ratio"] ** (1 / (DEPTH - 1))
    print(f"{seed:4d}  {c['ratio']:11.3g}  {per_layer:9.2f}  {c['grad_norm']:13.3g}  "
          f"{c['before']:11.4g}  {c['unclipped']:16.4g}  {c['clipped']:12.4g}")

# %% [markdown]
# Going back, the delta grows by a factor of about 1.1 to 1.4 per layer (less than the
# weights' 1.5, and different for every seed), which makes it 3 to 30 times larger at the
# first hidden layer than at the last.
#
# The unclipped step is so long that it overshoots: the loss goes up, for seed 0 about twenty
# million times. The clipped step goes the same way, only a bounded distance, and the loss goes
# down for every seed. Clipping does not cure the cause (the initialisation does), but it keeps
# one bad gradient from wrecking the network.
#
# `fit` has it built in: `fit(..., clip_grad_norm=1.0)` clips before every update. Ten
# updates of gradient descent on the same network, without and with it:
#
# **Predict:** without clipping, does the loss settle down after the first bad step?


# %%
def clipped_training(seed, epochs=10):
    """fit's per-epoch losses (full batch, lr 0.1) for the exploding ReLU net, unclipped and
    clipped to norm 1."""
    losses = {}
    for name, clip in (("unclipped", None), ("clipped", 1.0)):
        net = deep_net("relu", 1.5, seed=seed)
        hist = fit(net, X8, y8, loss="bce_logits", optimizer="sgd", lr=0.1, epochs=epochs,
                   compiled=True, progress=False, clip_grad_norm=clip)
        losses[name] = hist.train_loss
    return losses


training = clipped_training(seed=0)
for name, losses in training.items():
    print(f"{name:9s}: " + " ".join(f"{v:.3g}" for v in losses))

# %% [markdown]
# Each number is the loss at the start of an update (seed 0). Unclipped, every step makes the
# next gradient larger: the loss passes 1e70 and becomes `nan` (not a number: the floats
# overflowed). Clipped, it never rises above where it started and ends below 1.
#
# ## Dead ReLUs
#
# ReLU's derivative is 0 for negative inputs. A unit whose input is negative for *every*
# example passes no gradient back to its weights: it is **dead**. The lecture's example of how
# that happens: a very big gradient step pushes a bias far negative. A unit of the first hidden
# layer sees fixed inputs, so once dead it stays dead; a unit further up can only come back if
# the layers below it change. `count_dead_relus` runs the data through the network and counts
# the hidden units that are never active.
#
# We train a ReLU network 2-16-16-1 (32 hidden units) on 200 two-moons points with SGD,
# batches of 10, for 40 epochs, at a learning rate of 0.05 and at 2.0 (much too large), and a
# **leaky ReLU** network, `max(s, 0.01 s)`, at 2.0: its units have slope 0.01 instead of 0 for
# negative inputs, so they never stop passing a gradient.
#
# **Predict:** at `lr = 2.0`, how many of the 32 ReLU units will be dead at the end, and which
# network ends with the lower loss, ReLU or leaky ReLU?

# %%
from microgradnn.viz.plots import count_dead_relus, dead_relus

X, y = make_moons(n=200, noise=0.1, seed=0)


def train_moons(activation, lr, seed):
    net = MLP(2, [16, 16, 1], activation=activation, seed=seed)
    fit(net, X, y, loss="bce_logits", optimizer="sgd", lr=lr, epochs=40, batch_size=10,
        seed=seed, compiled=True, progress=False)
    return net


def dead_relu_experiment(seed, lr=2.0):
    """ReLU and leaky ReLU trained at a too-large learning rate: dead units and final losses."""
    relu = train_moons("relu", lr, seed)
    leaky = train_moons("leaky_relu", lr, seed)
    return {"dead": count_dead_relus(relu, X),
            "per_layer": [dead for _, dead, _ in dead_relus(relu, X).per_layer],
            "relu_loss": evaluate(relu, X, y, loss="bce_logits")["loss"],
            "leaky_loss": evaluate(leaky, X, y, loss="bce_logits")["loss"]}


gentle = train_moons("relu", 0.05, seed=0)
print(f"seed 0, ReLU at lr 0.05: {count_dead_relus(gentle, X)} of 32 units dead, final loss "
      f"{evaluate(gentle, X, y, loss='bce_logits')['loss']:.3f}")
print("at lr 2.0:")
print("seed  ReLU: dead of 32 (layer 1 + layer 2), final loss   leaky ReLU: final loss")
dead_runs = {}
for seed in (0, 1, 2):
    d = dead_runs[seed] = dead_relu_experiment(seed)
    first, second = d["per_layer"]
    print(f"{seed:4d}  {d['dead']:8d} ({first:2d} + {second:2d}){'':16s}{d['relu_loss']:.3f}"
          f"  {d['leaky_loss']:21.3f}")

# %% [markdown]
# At `lr = 0.05` no unit dies (seed 0). At `lr = 2.0` seed 0's ReLU network ends with 26 of its
# 32 units dead and, left with a handful of live units, with a loss of about 0.5, against 0.2
# for the gentle run. The leaky ReLU network took the same oversized steps and fits the data
# almost perfectly: its units pushed to the negative side still pass `0.01 ×` the gradient, so
# they keep learning. The other seeds kill fewer units, and for every seed the ReLU network
# ends worse than the leaky one. The lecture calls dead neurons "worrisome (but not always
# serious)": seed 2 loses 15 units and its 17 live ones still fit about as well as the gentle
# run; the dead ones are capacity lost for good.
#
# ## Leaky and parametric ReLU
#
# **Leaky ReLU** is `max(s, 0.01 s)`, and the 0.01 is a choice, not a law. **Parametric ReLU**
# (PReLU) lets the network choose: it makes the slope `alpha` a parameter learned like the
# weights: `phi(s) = s` for `s > 0`, else `alpha s`, so
# `d phi / d alpha = s` for `s <= 0` and `0` otherwise. The engine agrees:

# %%
for s in (-2.0, 3.0):
    alpha = Value(0.25, label="alpha")
    out = Value(s).prelu(alpha)
    out.backward()
    print(f"s = {s:+.1f}: prelu = {out.data:+.2f}, d/d alpha = {alpha.grad:+.1f}")
    assert alpha.grad == (s if s <= 0 else 0.0)

# %% [markdown]
# With `activation="prelu"` every hidden neuron gets its own slope (starting at 0.25, as in
# PyTorch). Train one and look at the slopes it learned:

# %%
net = MLP(2, [8, 8, 1], activation="prelu", seed=0)
hist = fit(net, X, y, loss="bce_logits", optimizer="adam", lr=0.03, epochs=20, batch_size=20,
           compiled=True, progress=False)
slopes = {name: p.data for name, p in net.named_parameters() if name.endswith("alpha")}
print(f"final loss {hist.train_loss[-1]:.3f}, accuracy {hist.train_acc[-1]:.3f}")
print(f"{len(slopes)} learned slopes, from {min(slopes.values()):.3f} "
      f"to {max(slopes.values()):.3f}:")
for name, value in list(slopes.items())[:4]:
    print(f"  {name} = {value:.3f}")

# %% [markdown]
# The 16 slopes started equal, at 0.25, and training moved each one its own way, some above 1
# and some below 0 (a unit whose negative side slopes downwards): no unit of a PReLU network
# is dead while its slope is not 0.

# %% [markdown]
# ## Exercises
#
# **1.** The sigmoid's derivative is at most 1/4 (the first figure). How large, at most, is
# the product of ten such factors (one per layer of a 10-layer sigmoid network)? Put that bound
# in `my_product` (a rounded value will do: the check allows 5%).
#
# <details><summary>Solution</summary>
#
# Each factor is at most `sigmoid'(0) = 1/4`, so the product is at most `(1/4)^10`, about
# 9.5e-7: less than a millionth, before the weights are even counted.
#
# ```python
# my_product = 0.25**10  # or 9.5e-7
# ```
# </details>

# %%
my_product = None
if my_product is None:
    print("Fill in my_product, then run this cell again.")
else:
    expected = derivative(Value.sigmoid, 0.0) ** 10  # recomputed on every run
    assert math.isclose(my_product, expected, rel_tol=0.05), "not yet: (max of sigmoid')^10"
    print(f"Correct! The bound is {expected:.3g}.")

# %% [markdown]
# **2.** The delta recursion for a sigmoid network. Write `my_sigmoid_prime(s)`, the
# sigmoid's derivative for a numpy array `s`, using `sigmoid(s) = 1 / (1 + np.exp(-s))`. The
# check builds a fresh sigmoid network, runs `delta_recursion` with your derivative and
# compares every weight's gradient with `backward()`.
#
# <details><summary>Solution</summary>
#
# `sigmoid' = sigmoid (1 - sigmoid)`:
#
# ```python
# def my_sigmoid_prime(s):
#     sig = 1 / (1 + np.exp(-s))
#     return sig * (1 - sig)
# ```
# </details>


# %%
def my_sigmoid_prime(s):
    return None  # your formula here


def np_sigmoid(s):
    return 1 / (1 + np.exp(-s))


check_model = MLP(2, [3, 2, 1], activation="sigmoid", seed=3)  # fresh on every run
if my_sigmoid_prime(np.zeros(2)) is None:
    print("Fill in my_sigmoid_prime, then run this cell again.")
else:
    _, yours = delta_recursion(check_model, x_n, y_n, np_sigmoid, my_sigmoid_prime)
    engine, _ = engine_gradients(check_model, x_n, y_n)
    assert all(np.allclose(a, e, atol=1e-12) for a, e in zip(yours, engine)), (
        "not yet: the recursion with your derivative disagrees with backward()"
    )
    print("Correct! The recursion with sigmoid' agrees with backward() on every weight.")

# %% [markdown]
# **3.** Gradient clipping by hand. Write `my_clip(grads, max_norm)`: it takes a list of
# gradient numbers and returns the list that `clip_grad_norm_` would leave (the same numbers if
# their norm `sqrt(sum g^2)` is at most `max_norm`, otherwise all of them scaled by the same
# factor so that the norm is `max_norm`). The check compares it with `clip_grad_norm_` on
# fresh Values, one case above the limit and one below.
#
# <details><summary>Solution</summary>
#
# ```python
# def my_clip(grads, max_norm):
#     norm = math.sqrt(sum(g * g for g in grads))
#     if norm <= max_norm:
#         return list(grads)
#     return [g * max_norm / norm for g in grads]
# ```
#
# (`clip_grad_norm_` divides by `norm + 1e-6`, as PyTorch does, so that a zero gradient
# cannot divide by zero; the check allows for that difference.)
# </details>


# %%
def my_clip(grads, max_norm):
    return None  # your code here


if my_clip([1.0], 1.0) is None:
    print("Fill in my_clip, then run this cell again.")
else:
    rng = np.random.default_rng(6)  # the same cases on every run
    for scale in (10.0, 0.1):
        grads = list(rng.normal(size=5) * scale)
        values = [Value(0.0) for _ in grads]
        for v, g in zip(values, grads):
            v.grad = g
        clip_grad_norm_(values, 1.0)
        assert np.allclose(my_clip(grads, 1.0), [v.grad for v in values], rtol=1e-5), (
            f"not yet: your clipped gradients differ from clip_grad_norm_'s (scale {scale})"
        )
    print("Correct! my_clip matches clip_grad_norm_ above and below the limit.")

# %% [markdown]
# ## Summary
#
# - The delta recursion, computed by hand with numpy, gives the same gradients as `backward()`
#   to 1e-12: backprop multiplies the delta by weights and derivatives, layer by layer.
# - In 12 sigmoid layers the delta reaching the first hidden layer is about 1e-7 of the last
#   one's (hidden layers compared, the output layer left out); with tanh and ReLU at their
#   default initialisation the hidden layers' deltas stay within a small factor of each other.
# - tanh with small weights vanishes although nothing saturates; with large weights most units
#   saturate and yet the gradient *explodes*, because the large weights multiply it too. Near
#   Xavier's scale it does neither.
# - Cures: a 4 times wider init for sigmoid (ratio from about 1e-7 to a few thousandths), skip
#   connections (a few), normalisation of the signals (no vanishing, some tens), and gradient
#   clipping, which turns an exploding step that raises the loss into one that lowers it, and
#   keeps `fit` from overflowing to `nan`.
# - A too-large learning rate kills ReLU units for good, and with most of them dead the network
#   fits worse; leaky ReLU took the same steps and ended better for every seed. PReLU learns
#   the slope.
