"""Notebook 6: activations and vanishing gradients (source of the .ipynb of the same name)."""

# %% [markdown]
# # 6. Activations and vanishing gradients
#
# Backpropagation multiplies local derivatives along every path from the loss back to a weight.
# In a deep network those paths are long, and if the factors are mostly smaller than 1 the
# product shrinks towards 0: the first layers barely learn. This notebook measures that
# effect, writes backprop out by hand as the lecture's **delta recursion**, and looks at the
# ReLU family that largely cures it (and at its own failure mode, dead units).

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from microgradnn import Value
from microgradnn.data import make_moons
from microgradnn.nn import MLP
from microgradnn.train import fit

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
for ax in axes:
    ax.set_xlabel("t")
    ax.legend()
plt.show()

# %% [markdown]
# The sigmoid's derivative is `s (1 - s)`, at most 1/4; tanh's is `1 - tanh^2`, at most 1.
# Both are almost 0 once `|t|` is a few units: the unit is **saturated**. Take one tanh neuron
# with `w = 2`, `b = 6`:

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
# product of `x^(l-1)` and `delta^l`.

# %%
model = MLP(2, [3, 2, 1], activation="tanh", seed=3)
x_n, y_n = np.array([0.5, -1.0]), 0.8

model.zero_grad()
e = (y_n - model(x_n)) ** 2
e.backward()

layers = model.layers
W = [np.array([[n.w[i].data for n in layer.neurons] for i in range(layer.nin)])
     for layer in layers]
b = [np.array([n.b.data for n in layer.neurons]) for layer in layers]

xs, ss = [x_n], []
for l, (W_l, b_l) in enumerate(zip(W, b)):
    s = W_l.T @ xs[-1] + b_l
    ss.append(s)
    xs.append(np.tanh(s) if l < len(W) - 1 else s)

deltas = [None] * len(W)
deltas[-1] = -2 * (y_n - ss[-1])
for l in range(len(W) - 2, -1, -1):
    deltas[l] = (W[l + 1] @ deltas[l + 1]) * (1 - np.tanh(ss[l]) ** 2)

for l, (layer, delta) in enumerate(zip(layers, deltas)):
    by_hand = np.outer(xs[l], delta)
    engine = np.array([[n.w[i].grad for n in layer.neurons] for i in range(layer.nin)])
    engine_b = np.array([n.b.grad for n in layer.neurons])
    print(f"layer {l + 1}: delta = {np.round(delta, 5)}")
    print(f"  dE/dW by hand:\n{np.round(by_hand, 6)}\n  engine .grad:\n{np.round(engine, 6)}")
    assert np.allclose(by_hand, engine, atol=1e-12) and np.allclose(delta, engine_b, atol=1e-12)
print("the delta recursion and backward() agree on every weight and bias")

# %% [markdown]
# `delta^1` is `delta^L` multiplied by a weight and a `tanh'` factor for every layer in
# between. Each `tanh'` is at most 1, and the sigmoid's at most 1/4, so the more layers, the
# smaller the gradient reaching the first ones can become.
#
# ## Measuring it: gradient size per layer
#
# A deep, narrow network (six hidden layers of 16 units), trained for two epochs on two moons.
# A `GradientMonitor` callback records the mean absolute gradient of each layer's weights at
# every update. We compare sigmoid, tanh and ReLU hidden units, each with microgradnn's default
# initialisation (Xavier for sigmoid and tanh, He for ReLU: weights scaled so that a signal
# keeps roughly its size from layer to layer).

# %%
from microgradnn.viz.plots import GradientMonitor, plot_grad_magnitudes

X, y = make_moons(n=100, noise=0.1, seed=0)
monitors = {}
for act in ["sigmoid", "tanh", "relu"]:
    deep = MLP(2, [16] * 6 + [1], activation=act, seed=0)
    monitors[act] = GradientMonitor()
    fit(deep, X, y, loss="bce_logits", optimizer="sgd", lr=0.1, epochs=2, batch_size=25,
        callbacks=[monitors[act]], progress=False)
    first, last = monitors[act].values[0][0], monitors[act].values[0][-1]
    print(f"{act:8s} first update: mean |grad| of layer 1 / last layer = {first / last:.2g}")
plot_grad_magnitudes(monitors)

# %% [markdown]
# Read the printed ratios and the plots (logarithmic axis). With sigmoid units the gradient
# shrinks at every layer going back, and the first layer gets a tiny fraction of the last
# layer's: it hardly learns. The sigmoid's derivative is at most 1/4, and the initialisation
# cannot make up for that. tanh (derivative 1 at 0) and ReLU (derivative exactly 1 wherever a
# unit is active) keep every layer's gradient of a similar size.
#
# Known cures: activations whose derivative does not shrink (ReLU and friends), careful
# initialisation, normalisation layers and skip connections.
#
# ## Dead ReLUs
#
# ReLU's derivative is 0 for negative inputs. A unit whose input is negative for *every*
# example never passes a gradient again: it is **dead**, and stays dead. A too-large learning
# rate can push many units there at once. `count_dead_relus` runs the data through the network
# and counts the hidden units that are never active.

# %%
from microgradnn.viz.plots import count_dead_relus, dead_relus

X, y = make_moons(n=200, noise=0.1, seed=0)
for lr in (0.05, 2.0):
    net = MLP(2, [16, 16, 1], activation="relu", seed=0)
    before = count_dead_relus(net, X)
    fit(net, X, y, loss="bce_logits", optimizer="sgd", lr=lr, epochs=10, batch_size=10,
        progress=False)
    report = dead_relus(net, X)
    per_layer = ", ".join(f"{name}: {dead} of {total}" for name, dead, total in report.per_layer)
    print(f"lr = {lr}: dead units before training {before}, after {report.count} ({per_layer})")

# %% [markdown]
# ## Leaky and parametric ReLU
#
# **Leaky ReLU** gives negative inputs a small slope: `max(s, 0.01 s)`, so a unit is never
# completely dead. **Parametric ReLU** (PReLU) makes that slope `alpha` a parameter learned
# like the weights: `phi(s) = s` for `s > 0`, else `alpha s`, so `d phi / d alpha = s` for
# `s <= 0` and `0` otherwise. The engine agrees:

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
           progress=False)
slopes = {name: p.data for name, p in net.named_parameters() if name.endswith("alpha")}
print(f"final loss {hist.train_loss[-1]:.3f}, accuracy {hist.train_acc[-1]:.3f}")
print(f"{len(slopes)} learned slopes, from {min(slopes.values()):.3f} "
      f"to {max(slopes.values()):.3f}:")
for name, value in list(slopes.items())[:4]:
    print(f"  {name} = {value:.3f}")

# %% [markdown]
# ## Exercises
#
# **1.** What is the largest value of the sigmoid's derivative, and how small can the product of
# ten such factors (one per layer of a 10-layer sigmoid network) be at most?
#
# <details><summary>Solution</summary>
#
# `sigmoid'(0) = 1/4`, so at most `(1/4)^10`, about 9.5e-7: less than a millionth, before the
# weights are even counted.
# </details>

# %%
my_product = None
if my_product is None:
    print("Fill in my_product, then run this cell again.")
else:
    expected = derivative(Value.sigmoid, 0.0) ** 10
    assert math.isclose(my_product, expected, rel_tol=0.01), "(max sigmoid')^10, about 9.5e-7"
    print("Correct!")

# %% [markdown]
# **2.** In the delta-recursion cell, replace `tanh` by `sigmoid` in the model and in the
# hand computation (`sigmoid'(s) = sigmoid(s) (1 - sigmoid(s))`). Do they still agree?
#
# **3.** Rerun the dead-ReLU experiment with `activation="leaky_relu"` (`count_dead_relus`
# only counts plain ReLUs, so compare the final losses). Does the large learning rate still
# hurt as much?
