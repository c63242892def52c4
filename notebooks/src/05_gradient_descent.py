"""Notebook 5: gradient descent, SGD and mini-batches (source of 05_gradient_descent.ipynb)."""

# %% [markdown]
# # 5. Gradient descent, SGD and mini-batches
#
# Training is one loop: compute the loss, `backward()` for the gradient `g`, then move every
# parameter a small step downhill, `theta <- theta - eta g`. The step size `eta` is the
# **learning rate**. This notebook looks at the choices inside that loop: how many examples go
# into each gradient, how big the steps are, and smarter update rules.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from microgradnn import Value
from microgradnn.data import batches, make_moons
from microgradnn.nn import MLP
from microgradnn.optim import SGD, Adam, RMSProp, StepLR
from microgradnn.train import fit

plt.rcParams["figure.dpi"] = 80

# %% [markdown]
# ## The loop, written out
#
# Minimise `L(w) = (w - 3)^2` starting from `w = 0`. Each step does exactly what `fit` does for
# a whole network.

# %%
w = Value(0.0, label="w")
eta = 0.1
for step in range(5):
    w.grad = 0.0  # gradients accumulate: reset first
    loss = (w - 3) ** 2
    loss.backward()
    print(f"step {step}: w = {w.data:.4f}, L = {loss.data:.4f}, dL/dw = {w.grad:+.4f}")
    w.data -= eta * w.grad

# %% [markdown]
# ## Learning rate: too small, right, too large
#
# The same loop with an optimizer object (`SGD(params, lr)` performs the update in `step()`),
# for four learning rates:

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for lr in (0.01, 0.1, 0.9, 1.02):
    w = Value(0.0)
    opt = SGD([w], lr=lr)
    path = []
    for _ in range(30):
        opt.zero_grad()
        loss = (w - 3) ** 2
        loss.backward()
        opt.step()
        path.append(w.data)
    ax.plot(path, marker=".", label=f"lr = {lr}: w ends at {path[-1]:.3g}")
ax.axhline(3, color="k", ls=":")
ax.set_ylim(-3, 9)
ax.set_xlabel("step")
ax.set_ylabel("w")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Too small crawls; a good one converges in a few steps; too large overshoots and zigzags
# around the minimum, and a little larger still diverges (each step lands further away than the
# last). For this loss the update is `w - 3 <- (1 - 2 lr)(w - 3)`, which shrinks only while
# `|1 - 2 lr| < 1`, i.e. `lr < 1`.
#
# ## Epochs, batches and updates
#
# With N training examples, **gradient descent (GD)** averages the gradient over all N before
# each update; **stochastic gradient descent (SGD)** updates after every single example; and
# **mini-batch SGD** averages over B examples at a time. An **epoch** is one pass over all N
# examples, so it makes `ceil(N / B)` updates:

# %%
for n, b in [(10_000, 10), (1_000, 100), (1_000, 32)]:
    counted = sum(1 for _ in batches(np.zeros((n, 1)), np.zeros(n), batch_size=b))
    print(f"N = {n:>6,}, B = {b:>3}: ceil(N/B) = {math.ceil(n / b):,} updates per epoch "
          f"(batches() yields {counted:,})")

# %% [markdown]
# ## GD vs SGD vs mini-batch on a real problem
#
# A small network on the two-moons data (notebook 7 looks at it closely). Same model, same
# starting weights, same learning rate; only the batch size changes. We record the loss after
# each epoch and how long each epoch took.

# %%
X, y = make_moons(n=200, noise=0.15, seed=0)
runs = {}
for name, batch_size in [("GD (B = N)", None), ("mini-batch (B = 20)", 20), ("SGD (B = 1)", 1)]:
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    hist = fit(model, X, y, loss="bce_logits", optimizer="sgd", lr=0.2, epochs=25,
               batch_size=batch_size, seed=0, progress=False)
    runs[name] = hist
    print(f"{name:20s} {hist.steps:5d} updates, final loss {hist.train_loss[-1]:.3f}, "
          f"accuracy {hist.train_acc[-1]:.2f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
for name, hist in runs.items():
    left.plot(range(1, hist.epochs + 1), hist.train_loss, label=name)
    right.plot(np.cumsum(hist.epoch_time), hist.train_loss, label=name)
left.set_xlabel("epoch")
right.set_xlabel("wall time (s)")
for ax in (left, right):
    ax.set_ylabel("training loss")
    ax.legend()
plt.show()

# %% [markdown]
# After one epoch SGD is far ahead of GD: it has made N updates while GD made one. But one
# example is a noisy estimate of the average gradient, so SGD's loss keeps jumping around
# instead of settling, and each of its many updates has a fixed cost. Mini-batches sit in
# between: less noise than SGD, many more updates per epoch than GD. On real hardware they
# also win on wall time, because a whole batch is computed as one matrix product. In this
# scalar engine a batch costs the sum of its examples plus a fixed cost per update, so only
# that fixed cost differs (compare the right-hand plot; its timings come from this run).
#
# ## Shuffling
#
# The examples should reach the optimizer in a new random order every epoch (`shuffle=True`,
# the default). Watch what happens when the data are sorted by class and not shuffled: every
# epoch first sees only class 0, then only class 1, so the model is dragged towards class 0
# during the first half of each epoch and towards class 1 during the second. We measure the
# loss on all the data *at the end of* each epoch (passing the data again as
# `validation_data`).

# %%
order = np.argsort(y, kind="stable")
X_sorted, y_sorted = X[order], y[order]
fig, ax = plt.subplots(figsize=(6, 3.5))
for shuffle in (True, False):
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    hist = fit(model, X_sorted, y_sorted, loss="bce_logits", optimizer="sgd", lr=0.5,
               epochs=25, batch_size=10, shuffle=shuffle, validation_data=(X, y), seed=0,
               progress=False)
    ax.plot(hist.val_loss, label=f"shuffle={shuffle}: final loss {hist.val_loss[-1]:.3f}")
ax.set_xlabel("epoch")
ax.set_ylabel("loss at the end of the epoch")
ax.legend()
plt.show()

# %% [markdown]
# ## A learning-rate schedule
#
# A large learning rate makes fast progress early but bounces around at the end; a small one is
# precise but slow. A **schedule** starts large and decays: `StepLR(opt, step_size=10,
# gamma=0.3)` multiplies the rate by 0.3 every 10 epochs. `fit` calls the schedule once per
# epoch and records the rate it used in `history.lr`.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
for label, make_schedule in [("constant", None), ("StepLR", lambda opt: StepLR(opt, 10, 0.3))]:
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    opt = SGD(model.parameters(), lr=1.0)
    schedule = make_schedule(opt) if make_schedule else None
    hist = fit(model, X, y, loss="bce_logits", optimizer=opt, epochs=30, batch_size=10,
               schedule=schedule, seed=0, progress=False)
    left.plot(hist.lr, label=label)
    right.plot(hist.train_loss, label=f"{label}: final loss {hist.train_loss[-1]:.3f}")
left.set_ylabel("learning rate")
right.set_ylabel("training loss")
for ax in (left, right):
    ax.set_xlabel("epoch")
    ax.legend()
plt.show()

# %% [markdown]
# ## Momentum, RMSProp and Adam
#
# Plain gradient descent struggles in a long narrow valley: the gradient points mostly across
# the valley, so it zigzags from wall to wall and creeps along the floor. Take
# `f(a, b) = a^2 / 20 + b^2`, twenty times steeper in `b` than in `a`.
#
# - **Momentum** keeps a running sum of past gradients (`v <- mu v + g`, step `-lr v`): the
#   zigzags cancel, the steady downhill part adds up;
# - **RMSProp** divides each parameter's step by the root of a running average of its squared
#   gradients: steep directions get small steps, flat ones large steps;
# - **Adam** combines both (and is the usual first choice).


# %%
def valley(a, b):
    return a**2 / 20 + b**2


optimizers = {
    "SGD lr=0.9": lambda p: SGD(p, lr=0.9),
    "momentum lr=0.3": lambda p: SGD(p, lr=0.3, momentum=0.8),
    "RMSProp lr=0.3": lambda p: RMSProp(p, lr=0.3),
    "Adam lr=0.3": lambda p: Adam(p, lr=0.3),
}
paths = {}
for name, make in optimizers.items():
    a, b = Value(-9.0), Value(2.0)
    opt = make([a, b])
    path = [(a.data, b.data)]
    for _ in range(40):
        opt.zero_grad()
        valley(a, b).backward()
        opt.step()
        path.append((a.data, b.data))
    paths[name] = np.array(path)
    print(f"{name:16s} after 40 steps: f = {valley(a.data, b.data):.2e}")

A, B = np.meshgrid(np.linspace(-10, 3, 200), np.linspace(-3, 3, 200))
fig, ax = plt.subplots(figsize=(8, 4))
ax.contour(A, B, valley(A, B), levels=np.geomspace(0.01, 10, 12), colors="lightgray")
for name, path in paths.items():
    ax.plot(path[:, 0], path[:, 1], marker=".", ms=4, label=name)
ax.plot(0, 0, "k*", ms=12)
ax.set_xlabel("a")
ax.set_ylabel("b")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# And the same four on the two-moons network (mini-batches of 20, each optimizer with its
# usual learning rate):

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, kwargs in [("sgd", {"lr": 0.2}), ("momentum", {"lr": 0.2}), ("rmsprop", {"lr": 0.01}),
                     ("adam", {"lr": 0.01})]:
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    hist = fit(model, X, y, loss="bce_logits", optimizer=name, epochs=25, batch_size=20, seed=0,
               progress=False, **kwargs)
    ax.plot(hist.train_loss, label=f"{name}: {hist.train_loss[-1]:.3f}")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
plt.show()

# %% [markdown]
# ## Local minima and random restarts
#
# A network's loss is not a bowl: it has many valleys, and gradient descent ends in the one it
# starts above. A one-parameter example, `f(w) = w^4 - 4 w^2 + w`, has two valleys. Run gradient
# descent from a few random starting points:


# %%
def bumpy(w):
    return w**4 - 4 * w**2 + w


rng = np.random.default_rng(0)
ends = []
for start in rng.uniform(-2.5, 2.5, size=8):
    w = Value(start)
    opt = SGD([w], lr=0.01)
    for _ in range(200):
        opt.zero_grad()
        bumpy(w).backward()
        opt.step()
    ends.append((start, w.data, bumpy(w.data)))
    print(f"start {start:+.2f} -> w = {w.data:+.3f}, f = {bumpy(w.data):+.3f}")
best = min(ends, key=lambda e: e[2])
print(f"best of {len(ends)} restarts: w = {best[1]:+.3f}, f = {best[2]:+.3f}")

ws = np.linspace(-2.3, 2.3, 200)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(ws, bumpy(ws), "k")
for start, end, f_end in ends:
    ax.annotate("", xy=(end, f_end), xytext=(start, bumpy(start)),
                arrowprops={"arrowstyle": "->", "color": "C0", "alpha": 0.6})
ax.set_xlabel("w")
ax.set_ylabel("f(w)")
plt.show()

# %% [markdown]
# Networks behave the same way. The 2-2-1 XOR network of notebook 3, trained from ten random
# initialisations, does not always find a solution; the cure is the same: several random
# restarts (or a bigger network, whose loss has fewer bad valleys), keep the best.

# %%
from microgradnn.data import make_xor

X_xor, y_xor = make_xor()
for seed in range(10):
    model = MLP(2, [2, 1], activation="tanh", seed=seed)
    hist = fit(model, X_xor, y_xor, loss="bce_logits", optimizer="adam", lr=0.1, epochs=300,
               progress=False)
    verdict = "solved" if hist.train_acc[-1] == 1.0 else "stuck"
    print(f"seed {seed}: final loss {hist.train_loss[-1]:.4f}  {verdict}")

# %% [markdown]
# ## Exercises
#
# **1.** N = 1,000 examples and B = 32: how many updates per epoch? (The table above has it;
# explain the rounding.)
#
# <details><summary>Solution</summary>
#
# 1,000 / 32 = 31.25, so 31 full batches and one last batch of 8: 32 updates.
# </details>
#
# **2.** A rule of thumb: multiplying the batch size by K allows about `sqrt(K)` times the
# learning rate. Going from B = 10 at lr = 0.1 to B = 40, what lr would you try?
#
# <details><summary>Solution</summary>
#
# K = 4, so about 2 × 0.1 = 0.2.
# </details>

# %%
my_lr = None
if my_lr is None:
    print("Fill in my_lr, then run this cell again.")
else:
    assert math.isclose(my_lr, 0.1 * math.sqrt(40 / 10)), "sqrt(K) times the learning rate"
    print("Correct!")

# %% [markdown]
# **3.** In the valley experiment, raise SGD's learning rate from 0.9 to 1.1. What happens to
# `b`, and why? (Hint: the loss for `b` alone is the one of the first experiment.)
