"""Notebook 5: gradient descent, SGD and mini-batches (source of 05_gradient_descent.ipynb)."""

# %% [markdown]
# # 5. Gradient descent, SGD and mini-batches
#
# *Lectures: Neural network basics (lecture 2: gradient descent, stochastic and mini-batch
# SGD, epochs, the learning rate and the tips for mini-batch training); From a linear model to
# a neural network (lecture 0: batches, epochs and updates); Introduction to deep learning
# (lecture 1: the learning rate, local minima and their remedies: random restarts, a decaying
# learning rate, Adam and RMSProp).*
#
# **Goal:** see what each choice inside the training loop (batch size, learning rate,
# shuffling, schedule, update rule, starting point) does, measured on small problems.
#
# Training is one loop: compute the loss, `backward()` for the gradient `g`, then move every
# parameter a small step downhill, `theta <- theta - eta × g`. The step size `eta` is the
# **learning rate**. Every experiment below is a small function of a seed (or of a starting
# point), so you can rerun it with other seeds and see whether the lesson still holds.

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
# for four learning rates, 30 steps each.
#
# **Predict:** which of `lr = 0.01, 0.1, 0.9, 1.02` end near `w = 3`, and which of them
# overshoot it on the way?


# %%
def descend_quadratic(lr, start=0.0, steps=30):
    """The values of w while SGD minimises (w - 3)^2 from `start`."""
    w = Value(start)
    opt = SGD([w], lr=lr)
    path = [w.data]
    for _ in range(steps):
        opt.zero_grad()
        loss = (w - 3) ** 2
        loss.backward()
        opt.step()
        path.append(w.data)
    return path


fig, ax = plt.subplots(figsize=(7, 3.5))
for lr in (0.01, 0.1, 0.9, 1.02):
    path = descend_quadratic(lr)
    print(f"lr = {lr:<4}: w after 30 steps = {path[-1]:.4g}")
    ax.plot(path, marker=".", label=f"lr = {lr}")
ax.axhline(3, color="k", ls=":")
ax.set_ylim(-3, 9)
ax.set_xlabel("step")
ax.set_ylabel("w")
ax.legend(fontsize=9)
plt.show()

# %% [markdown]
# Too small crawls (0.01 is still far from 3 after 30 steps); 0.1 converges; 0.9 converges
# too but zigzags around the minimum, landing on the other side every step; and 1.02 diverges,
# each step landing further away than the last. For this loss the update is
# `w - 3 <- (1 - 2 lr)(w - 3)`, which shrinks only while `|1 - 2 lr| < 1`, i.e. `lr < 1`, and
# changes sign every step when `lr > 0.5`.
#
# ## Epochs, batches and updates
#
# With N training examples, **gradient descent (GD)** averages the gradient over all N before
# each update; **stochastic gradient descent (SGD)** updates after every single example; and
# **mini-batch SGD** averages over B examples at a time,
# `theta <- theta - eta × (1/B) sum_{k in batch} grad C_k`. An **epoch** is one pass over all N
# examples, so it makes `ceil(N / B)` updates (the lecture's examples, and its SGD with 20
# examples):

# %%
for n, b in [(10_000, 10), (1_000, 100), (20, 1), (20, 20)]:
    counted = sum(1 for _ in batches(np.zeros((n, 1)), np.zeros(n), batch_size=b))
    print(f"N = {n:>6,}, B = {b:>3}: ceil(N/B) = {math.ceil(n / b):,} updates per epoch "
          f"(batches() yields {counted:,})")

# %% [markdown]
# ## GD vs SGD vs mini-batch, as in the lecture
#
# The lecture draws the three on the contour lines of a loss with two parameters. Here is that
# picture, computed: fit a line `w × x + b` to 20 noisy points (the true line is `2x - 1`)
# with the mean squared error, from `w = -1, b = 2`, all three with the same learning rate 0.1
# for 5 epochs, each batch's gradient computed by `backward()`.
#
# **Predict:** after one epoch (each method has seen all 20 points once), which of the three is
# closest to the minimum, and whose path is the most ragged?


# %%
def make_line(n, seed):
    """n points x in (-1, 1), y = 2x - 1 plus Gaussian noise of standard deviation 0.5."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    return x, 2 * x - 1 + rng.normal(0, 0.5, n)


def line_loss(w, b, x, y):
    """Mean squared error of the line w x + b on all the points (numpy, for plots too)."""
    return np.mean((np.multiply.outer(w, x) + np.expand_dims(b, -1) - y) ** 2, axis=-1)


def train_line(x, y, batch_size, lr=0.1, epochs=5, seed=0, start=(-1.0, 2.0), schedule=None):
    """Mini-batch SGD on the line; returns the (w, b) path and the loss after every update.

    `schedule`, if given, makes a learning-rate schedule for the optimizer (stepped per epoch).
    """
    rng = np.random.default_rng(seed)
    w, b = Value(start[0]), Value(start[1])
    opt = SGD([w, b], lr=lr)  # theta <- theta - lr × (the batch's mean gradient)
    sched = schedule(opt) if schedule else None
    path, losses = [start], [float(line_loss(*start, x, y))]
    for _ in range(epochs):
        order = rng.permutation(len(x))  # shuffle every epoch
        for i in range(0, len(x), batch_size):
            batch = order[i:i + batch_size]
            opt.zero_grad()
            loss = sum((w * x[k] + b - y[k]) ** 2 for k in batch) / len(batch)
            loss.backward()
            opt.step()
            path.append((w.data, b.data))
            losses.append(float(line_loss(w.data, b.data, x, y)))
        if sched:
            sched.step()
    return np.array(path), losses


METHODS = {"GD (B = 20)": 20, "mini-batch (B = 5)": 5, "SGD (B = 1)": 1}


def gd_sgd_minibatch(seed):
    """Loss after every epoch, and whether it ever rose after an update, per method."""
    x, y = make_line(20, seed)
    out = {}
    for name, batch_size in METHODS.items():
        path, losses = train_line(x, y, batch_size, seed=seed)
        per_epoch = losses[20 // batch_size::20 // batch_size]
        rises = sum(after > before for before, after in zip(losses[:-1], losses[1:]))
        out[name] = {"updates per epoch": 20 // batch_size, "epoch losses": per_epoch,
                     "rises": rises, "path": path.tolist()}
    return out


line_runs = gd_sgd_minibatch(seed=0)
x_line, y_line = make_line(20, seed=0)
print("loss after epoch:         1      2      3      4      5   (updates where the loss rose)")
for name, run in line_runs.items():
    print(f"{name:20s} " + " ".join(f"{v:6.3f}" for v in run["epoch losses"])
          + f"   ({run['rises']} of {5 * run['updates per epoch']})")
best_w, best_b = np.polyfit(x_line, y_line, 1)
print(f"the least-squares line w = {best_w:.3f}, b = {best_b:.3f} has loss "
      f"{line_loss(best_w, best_b, x_line, y_line):.3f}")

W, B = np.meshgrid(np.linspace(-2, 3.5, 120), np.linspace(-2, 3, 120))
fig, ax = plt.subplots(figsize=(8, 4.5))
ax.contour(W, B, line_loss(W, B, x_line, y_line), levels=np.geomspace(0.3, 20, 12),
           colors="lightgray")
for name, run in line_runs.items():
    path = np.array(run["path"])
    ax.plot(path[:, 0], path[:, 1], marker=".", ms=4, lw=1, label=name)
ax.plot(best_w, best_b, "k*", ms=12, label="minimum")
ax.set_xlabel("w")
ax.set_ylabel("b")
ax.legend(fontsize=9)
plt.show()

# %% [markdown]
# After one epoch SGD is by far the closest: it has made 20 updates while GD made one, and
# mini-batch SGD sits in between with 4. That is the lecture's "SGD approaches the target
# faster than gradient descent". The price is noise: one example's gradient is a rough guess
# of the average gradient, so SGD's path is ragged and its loss goes *up* after many of its
# updates, while GD's never does at this learning rate. Once near the minimum, SGD keeps
# jittering around it instead of settling.
#
# ## Per second, on a real network
#
# The lecture's ranking by training time is "mini-batch > SGD > gradient descent", because a
# computer evaluates a batch of examples as one matrix-matrix product nearly as fast as a
# single example. microgradnn's `compiled=True` does the same: it traces one example's graph
# and replays it over the whole batch with numpy. A small network on 100 two-moons points
# (notebook 7 looks at them closely), same starting weights and learning rate, 8 epochs each;
# the loss is measured on all the points at the end of every epoch.
#
# **Predict:** which of the three needs the most wall time for one epoch?


# %%
def speed_experiment(seed, epochs=8):
    X, y = make_moons(n=100, noise=0.15, seed=seed)
    out = {}
    for name, batch_size in [("GD (B = N)", None), ("mini-batch (B = 10)", 10),
                             ("SGD (B = 1)", 1)]:
        model = MLP(2, [8, 1], activation="tanh", seed=seed)
        hist = fit(model, X, y, loss="bce_logits", optimizer="sgd", lr=0.3, epochs=epochs,
                   batch_size=batch_size, seed=seed, validation_data=(X, y), compiled=True,
                   progress=False)
        out[name] = {"updates": hist.steps, "loss": hist.val_loss,
                     "seconds per epoch": float(np.mean(hist.epoch_time)),
                     "time": np.cumsum(hist.epoch_time).tolist()}
    return out


speed = speed_experiment(seed=0)
for name, run in speed.items():
    print(f"{name:20s} {run['updates']:4d} updates, {1000 * run['seconds per epoch']:6.1f} ms "
          f"per epoch, loss after epoch 1: {run['loss'][0]:.3f}, after 8: {run['loss'][-1]:.3f}")
print(f"mini-batch's 8 epochs took {1000 * speed['mini-batch (B = 10)']['time'][-1]:.0f} ms, "
      f"SGD's first epoch {1000 * speed['SGD (B = 1)']['time'][0]:.0f} ms")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
for name, run in speed.items():
    left.plot(range(1, len(run["loss"]) + 1), run["loss"], marker=".", label=name)
    right.plot(run["time"], run["loss"], marker=".", label=name)
left.set_xlabel("epoch")
right.set_xlabel("wall time (s)")
for ax in (left, right):
    ax.set_ylabel("loss")
    ax.legend()
plt.show()

# %% [markdown]
# An SGD epoch costs many times a mini-batch epoch: both see the same 100 examples, but SGD
# pays the fixed cost of an update (and of a replay) 100 times, mini-batch 10 times. GD's
# epoch is the cheapest of all, yet it makes a single update per epoch, so after 8 epochs it
# is the furthest behind. Mini-batches are the compromise the lecture recommends: many updates
# per epoch, each cheap and less noisy than one example's. Per second mini-batch wins clearly
# here too (the right-hand plot): its 8 epochs take about as long as SGD's first one, and end
# at a lower loss than SGD's first epoch and GD's eighth. (The timings change a little from
# run to run; with big data and real hardware the gap grows.)
#
# ## Shuffling
#
# The lecture's first tip: shuffle the training samples before every epoch (`shuffle=True`,
# the default), or the network may learn the order. Sort the data by class and do not shuffle:
# every epoch first sees only class 0, then only class 1, so the model is dragged towards
# class 0 during the first half of each epoch and towards class 1 during the second. We
# measure the loss on all the data at the end of each epoch.
#
# **Predict:** which run ends with the lower loss, and what does the other one's curve look
# like?


# %%
def shuffle_experiment(seed, epochs=20):
    X, y = make_moons(n=100, noise=0.15, seed=seed)
    order = np.argsort(y, kind="stable")  # all of class 0, then all of class 1
    out = {}
    for shuffle in (True, False):
        model = MLP(2, [8, 1], activation="tanh", seed=seed)
        hist = fit(model, X[order], y[order], loss="bce_logits", optimizer="sgd", lr=0.5,
                   epochs=epochs, batch_size=10, shuffle=shuffle, validation_data=(X, y),
                   seed=seed, compiled=True, progress=False)
        out[f"shuffle={shuffle}"] = hist.val_loss
    return out


shuffled = shuffle_experiment(seed=0)
fig, ax = plt.subplots(figsize=(7, 3.5))
for name, losses in shuffled.items():
    falling = all(b < a for a, b in zip(losses[:-1], losses[1:]))
    print(f"{name:13s} loss after epoch 5: {losses[4]:.3f}, 10: {losses[9]:.3f}, "
          f"20: {losses[-1]:.3f}; lower after every epoch: {falling}")
    ax.plot(range(1, len(losses) + 1), losses, label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("loss at the end of the epoch")
ax.legend()
plt.show()

# %% [markdown]
# Without shuffling, what the first half of each epoch learns about class 0 is pulled back by
# the second half's run of class 1: the loss falls smoothly but slowly, is still falling at
# epoch 20 and ends higher. Shuffled, every batch mixes both classes: by epoch 5 the loss is
# already below where the unshuffled run ends, and after that it jitters up and down by a few
# hundredths from epoch to epoch.
#
# ## A learning-rate schedule
#
# SGD never quite settles: each step follows one example, so near the minimum it keeps
# jumping about by an amount that grows with the learning rate. A large rate gets close fast
# but then jitters; a small one jitters little but gets there slowly. A **schedule** starts
# large and decays (the lecture: "start with high learning rate, then decrease it later"):
# `StepLR(opt, step_size=10, gamma=0.3)` multiplies the rate by 0.3 every 10 epochs, here from
# 0.3 to 0.09 to 0.027. (`fit` takes one too, `schedule=`, and records each epoch's rate in
# `history.lr`.) SGD (B = 1) on the 20 points of the line, 30 epochs, three ways.
#
# **Predict:** which of the three is closest to the minimum after 2 epochs, and which over the
# last 5?


# %%
def schedule_experiment(seed, epochs=30):
    x, y = make_line(20, seed)
    best_loss = float(line_loss(*np.polyfit(x, y, 1), x, y))
    out = {}
    for name, lr, schedule in [("constant 0.3", 0.3, None), ("constant 0.03", 0.03, None),
                               ("StepLR 0.3 -> 0.027", 0.3,
                                lambda opt: StepLR(opt, step_size=10, gamma=0.3))]:
        _, losses = train_line(x, y, 1, lr, epochs, seed, schedule=schedule)
        excess = [v - best_loss for v in losses[20::20]]  # above the minimum, per epoch
        out[name] = {"excess": excess, "after 2 epochs": excess[1],
                     "last 5 epochs": float(np.mean(excess[-5:]))}
    return out


scheduled = schedule_experiment(seed=0)
fig, ax = plt.subplots(figsize=(8, 3.5))
for name, run in scheduled.items():
    print(f"{name:20s} loss above the minimum: after 2 epochs {run['after 2 epochs']:.4f}, "
          f"mean of the last 5 epochs {run['last 5 epochs']:.4f}")
    ax.semilogy(range(1, len(run["excess"]) + 1), run["excess"], marker=".", label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("loss above the minimum")
ax.legend(fontsize=9)
plt.show()

# %% [markdown]
# After 2 epochs the large rate (and the schedule, identical to it for its first 10 epochs) is
# ahead of the small one, here far ahead; over the last 5 epochs the large rate is still
# jumping about while the schedule, now at a small rate, is as close as the small constant
# rate: the speed of the one and the precision of the other. (On this easy problem the small
# rate catches up within a few epochs.)
#
# ## Batch size and learning rate: the `sqrt(K)` rule
#
# The lecture's third tip: with K times the batch size, use (theoretically) about `sqrt(K)`
# times the learning rate. The theory is about noise. A mini-batch gradient is an average of B
# examples' gradients, so its random error shrinks like `1/sqrt(B)`: K times the batch,
# `1/sqrt(K)` times the noise, and `sqrt(K)` times the learning rate keeps the noise of each
# step `lr × g` the same. Two measurements on the line of above (100 points now):
#
# 1. the spread of the mini-batch gradient at `w = b = 0`, over 2,000 random batches of each
#    size, from the per-example gradients that `backward()` gives;
# 2. the best learning rate for B = 2 and for B = 8 (K = 4), found on a grid of rates
#    `0.01 × 2^(i/4)`, each rate scored by the loss at the end averaged over 64 shuffles. "At
#    the end" has two meanings: after the same number of **epochs** (so B = 8 makes 4 times
#    fewer updates) or after the same number of **updates** (so B = 8 sees 4 times more data).
#
# To run the 6,400 trainings (2 budgets × 2 batch sizes × 25 rates × 64 shuffles) in a
# second, they are done together with numpy, with the line's gradient written out,
# `dL/dw = 2 mean(err × x)` and `dL/db = 2 mean(err)`, checked against `backward()` first.
# Since a flat optimum makes the single best rate a rough number, we also report the range of
# **near-best** rates, those whose loss is within 5% of the lowest, and the ratio of the
# ranges' centres (their geometric means).
#
# **Predict:** for K = 4, is the best learning rate's ratio closer to 1, to `sqrt(4) = 2` or
# to 4? Does the answer depend on which "end" you pick?

# %%
LRS = 0.01 * 2 ** (np.arange(25) / 4)  # 0.01 to 0.64, steps of 2^(1/4), about 19%


def per_example_grads(x, y, w0=0.0, b0=0.0):
    """(dC_k/dw, dC_k/db) for every example k, by backward(), at w = w0, b = b0."""
    grads = []
    for xk, yk in zip(x, y):
        w, b = Value(w0), Value(b0)
        ((w * xk + b - yk) ** 2).backward()
        grads.append((w.grad, b.grad))
    return np.array(grads)


def many_sgd_runs(x, y, batch_size, lrs, repeats, seed, epochs=None, updates=None):
    """Mean final loss of mini-batch SGD from w = b = 0, for every rate in `lrs`.

    All len(lrs) × repeats runs go at once: row i uses lrs[i], column r its own shuffles.
    Stops after `epochs` epochs or after `updates` updates (the last partial batch skipped).
    """
    rng = np.random.default_rng(seed)
    w = np.zeros((len(lrs), repeats))
    b = np.zeros((len(lrs), repeats))
    lr = np.asarray(lrs)[:, None]
    per_epoch = len(x) // batch_size
    total = updates if updates is not None else epochs * per_epoch
    for step in range(total):
        if step % per_epoch == 0:
            order = np.argsort(rng.random((repeats, len(x))), axis=1)  # reshuffle each epoch
        i = (step % per_epoch) * batch_size
        xb, yb = x[order[:, i:i + batch_size]], y[order[:, i:i + batch_size]]
        err = w[:, :, None] * xb + b[:, :, None] - yb
        w, b = w - lr * 2 * (err * xb).mean(axis=2), b - lr * 2 * err.mean(axis=2)
    return line_loss(w, b, x, y).mean(axis=1)


def batch_lr_experiment(seed, batch=2, k=4):
    x, y = make_line(100, seed)
    grads = per_example_grads(x, y)
    err = 2 * (0.0 * x + 0.0 - y)
    formula_gap = float(np.abs(grads - np.column_stack([err * x, err])).max())
    rng = np.random.default_rng(seed)
    spread = {}
    for size in (1, 2, 4, 8, 16, 32):
        means = [grads[rng.choice(len(x), size, replace=False)].mean(axis=0)
                 for _ in range(2000)]
        spread[size] = float(np.sqrt(np.mean(np.sum((means - grads.mean(axis=0)) ** 2, 1))))
    out = {"formula_gap": formula_gap, "spread": spread,
           "noise_ratio": spread[batch * k] / spread[batch]}
    epochs = 2
    for budget, kwargs in [("epochs", {"epochs": epochs}),
                           ("updates", {"updates": epochs * len(x) // batch})]:
        scores = {size: many_sgd_runs(x, y, size, LRS, 64, seed, **kwargs)
                  for size in (batch, batch * k)}
        best = {size: float(LRS[np.argmin(s)]) for size, s in scores.items()}
        near = {size: (float(LRS[s <= 1.05 * s.min()].min()), float(LRS[s <= 1.05 * s.min()].max()))
                for size, s in scores.items()}
        centre = {size: math.sqrt(lo * hi) for size, (lo, hi) in near.items()}
        out[budget] = {"best_lr": best, "ratio": best[batch * k] / best[batch], "near": near,
                       "centre_ratio": centre[batch * k] / centre[batch],
                       "scores": {size: s.tolist() for size, s in scores.items()}}
    return out


sizes = batch_lr_experiment(seed=0)
print(f"formula vs backward(): largest difference {sizes['formula_gap']:.1e}")
print("gradient spread by batch size B: "
      + ", ".join(f"B = {b}: {s:.3f}" for b, s in sizes["spread"].items()))
print(f"B = 8 vs B = 2: spread × {sizes['noise_ratio']:.3f} (1/sqrt(4) = 0.5)")
for budget in ("updates", "epochs"):
    best, near = sizes[budget]["best_lr"], sizes[budget]["near"]
    print(f"same number of {budget}:")
    for size in (2, 8):
        lo, hi = near[size]
        print(f"  B = {size}: best lr {best[size]:.3f}, near-best {lo:.3f} to {hi:.3f} "
              f"(a factor {hi / lo:.1f})")
    print(f"  ratio B = 8 / B = 2: best rates {sizes[budget]['ratio']:.2f}, "
          f"centres of the near-best ranges {sizes[budget]['centre_ratio']:.2f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
spread_b = np.array(list(sizes["spread"]))
left.loglog(spread_b, list(sizes["spread"].values()), "o-", label="measured")
left.loglog(spread_b, sizes["spread"][1] / np.sqrt(spread_b), "k:", label="1/sqrt(B)")
left.set_xticks(spread_b, [str(b) for b in spread_b])
left.set_yticks([0.5, 1, 2, 3], ["0.5", "1", "2", "3"])
left.minorticks_off()
left.set_xlabel("batch size B")
left.set_ylabel("spread of the batch gradient")
left.legend()
for size, scores in sizes["epochs"]["scores"].items():
    right.semilogx(LRS, scores, marker=".", label=f"B = {size}, 2 epochs")
right.set_ylim(0, 1.5)
right.set_xlabel("learning rate")
right.set_ylabel("mean final loss")
right.legend()
plt.show()

# %% [markdown]
# The noise half of the theory holds: four times the batch gives about half the spread (a
# little less than half, because batches drawn without replacement from only 100 points vary
# a bit less than independent draws would). The best learning rate does grow with the batch,
# but by how much depends on what is held fixed. With the same number of updates, the bigger
# batch's cleaner gradients allow only a somewhat larger rate (a ratio below 2, by the best
# rates and by the ranges' centres); with the same number of epochs, the bigger batch makes 4
# times fewer updates and needs bigger steps to cover the same distance, and the ratio is
# about 4 here: the "linear scaling" rule, K times the rate. The optimum is broad, though:
# the near-best rates span a factor of 2 to 8 and the curves on the right are nearly flat
# over it, so each ratio is a rough number. `sqrt(K)` sits between the two: a sound first
# guess, not a law; tune around it.
#
# ## Momentum, RMSProp and Adam
#
# Plain gradient descent struggles in a long narrow valley: the gradient points mostly across
# the valley, so a learning rate large enough to make progress along the floor makes it zigzag
# from wall to wall. Take `f(a, b) = a^2 / 100 + b^2`, a hundred times more curved in `b` than
# in `a` (and, to compare, a mild valley `a^2 / 10 + b^2`).
#
# - **Momentum** keeps a running sum of past gradients (`v <- mu × v + g`, step `-lr × v`): the
#   zigzags cancel, the steady downhill part adds up;
# - **RMSProp** divides each parameter's step by the root of a running average of its squared
#   gradients: steep directions get small steps, flat ones large steps;
# - **Adam** combines both (and is the usual first choice).
#
# A fair race gives each its best learning rate: we run each optimizer for 50 steps with every
# rate of the grid 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0 and keep the rate that
# ends lowest. The other settings are the usual defaults (momentum 0.9; RMSProp's average
# 0.99; Adam's betas 0.9 and 0.999).
#
# **Predict:** on the 100:1 valley, which optimizer ends furthest from the minimum? And on the
# 10:1 one?

# %%
OPTIMIZERS = {
    "SGD": lambda params, lr: SGD(params, lr=lr),
    "momentum": lambda params, lr: SGD(params, lr=lr, momentum=0.9),
    "RMSProp": lambda params, lr: RMSProp(params, lr=lr),
    "Adam": lambda params, lr: Adam(params, lr=lr),
}
VALLEY_LRS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)


def make_valley(steepness, angle=0.0):
    """f(a, b) = u^2 / steepness + v^2, with (u, v) = (a, b) turned by `angle` radians."""
    c, s = math.cos(angle), math.sin(angle)

    def f(a, b):
        return (c * a + s * b) ** 2 / steepness + (c * b - s * a) ** 2

    return f


def descend_valley(f, make_opt, lr, start, steps=50):
    a, b = Value(start[0]), Value(start[1])
    opt = make_opt([a, b], lr)
    path = [start]
    for _ in range(steps):
        opt.zero_grad()
        f(a, b).backward()
        opt.step()
        path.append((a.data, b.data))
        if abs(a.data) + abs(b.data) > 1e6:  # diverged: stop before the floats overflow
            return path, math.inf
    return path, f(a.data, b.data)


def valley_race(steepness, start=(-9.0, 2.0), angle=0.0):
    """Each optimizer at its best rate of VALLEY_LRS: {name: (best lr, final f, path)}."""
    f = make_valley(steepness, angle)
    out = {}
    for name, make_opt in OPTIMIZERS.items():
        runs = {lr: descend_valley(f, make_opt, lr, start) for lr in VALLEY_LRS}
        lr = min(runs, key=lambda r: runs[r][1])
        out[name] = (lr, runs[lr][1], runs[lr][0])
    return out


races = {steep: valley_race(steep) for steep in (10, 100)}
for steep, race in races.items():
    print(f"{steep}:1 valley, f after 50 steps at the best rate:")
    for name, (lr, f_end, _) in race.items():
        print(f"  {name:9s} lr = {lr:<4}  f = {f_end:.1e}")

A, B = np.meshgrid(np.linspace(-10, 3, 200), np.linspace(-3, 3, 200))
fig, ax = plt.subplots(figsize=(10, 4.5))
ax.contour(A, B, make_valley(100)(A, B), levels=np.geomspace(0.01, 10, 12), colors="lightgray")
for name, (lr, _, path) in races[100].items():
    path = np.array(path)
    ax.plot(path[:, 0], path[:, 1], marker=".", ms=4, lw=1, label=f"{name}, lr = {lr}")
ax.plot(0, 0, "k*", ms=12)
ax.set_ylim(-3, 3)
ax.set_xlabel("a")
ax.set_ylabel("b")
ax.set_title("the 100:1 valley, 50 steps")
ax.legend(fontsize=9)
plt.show()

# %% [markdown]
# On the mild 10:1 valley plain SGD, at its best rate, beats momentum and Adam (momentum 0.9 is
# even too much there); RMSProp wins on any valley along the axes, see below. On the 100:1
# valley SGD falls far behind: its rate is capped below 1 by the steep `b` direction (the first
# experiment's bound), and at such a rate it creeps along `a`. Momentum builds up speed along
# the floor, and Adam and RMSProp give `a` larger steps than `b`. (RMSProp's first step leaves
# the picture: its average of `g^2` starts at 0, so its first step is `10 × lr` in each
# direction, to `(1, -8)`; Adam's bias correction prevents that.) RMSProp's extreme final value
# has a reason: this valley runs exactly along the parameters' axes, the one case where a step
# size per parameter straightens the valley out completely. Turn the same valley by 45
# degrees and see:

# %%
turned = valley_race(100, angle=math.pi / 4)
for name, (lr, f_end, _) in turned.items():
    print(f"100:1 valley turned 45 degrees: {name:9s} lr = {lr:<4}  f = {f_end:.1e}")

# %% [markdown]
# Turned, the valley's steep and flat directions mix `a` and `b`, so RMSProp's and Adam's
# per-parameter step sizes no longer help, and they end no better than plain SGD; momentum,
# which does not care about axes, is the one that still beats SGD here. In a real network the
# valleys point in every direction, which is one reason Adam is a good default but not always
# the winner: try more than one optimizer, each at a tuned learning rate.
#
# ## Local minima and random restarts
#
# A network's loss is not a bowl: it has many valleys, and gradient descent ends in the one it
# starts above. A one-parameter example, `f(w) = w^4 - 4 w^2 + w`, has two valleys, the deeper
# on the left.
#
# **Predict:** from which starting points does gradient descent find the deeper valley?


# %%
def bumpy(w):
    return w**4 - 4 * w**2 + w


def descend_bumpy(start, lr=0.01, steps=200):
    w = Value(start)
    opt = SGD([w], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        bumpy(w).backward()
        opt.step()
    return w.data


rng = np.random.default_rng(0)
ends = []
for start in rng.uniform(-2.5, 2.5, size=8):
    end = descend_bumpy(start)
    ends.append((start, end, bumpy(end)))
    print(f"start {start:+.2f} -> w = {end:+.3f}, f = {bumpy(end):+.3f}")
best = min(ends, key=lambda e: e[2])
print(f"best of {len(ends)} restarts: w = {best[1]:+.3f}, f = {best[2]:+.3f}")

ws = np.linspace(-2.3, 2.3, 200)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(ws, bumpy(ws), "k")
for start, end, f_end in ends:
    ax.annotate("", xy=(end, f_end), xytext=(start, bumpy(start)),
                arrowprops={"arrowstyle": "->", "color": "C0", "alpha": 0.6})
ax.set_xlabel("w")
ax.set_ylabel("f(w)")
plt.show()

# %% [markdown]
# Every start left of the hump (near `w = 0.13`) rolls into the deep valley at `w = -1.47`,
# every start right of it into the shallow one at `w = 1.35`, and gradient descent has no way
# to tell them apart from inside. The lecture's remedies: several random initialisations (keep
# the best, as above), a learning rate that starts high and decays, and optimizers such as
# Adam.
#
# Networks behave the same way. The 2-2-1 XOR network of notebook 3, trained from ten random
# initialisations with Adam, does not always find a solution.
#
# **Predict:** how many of the ten seeds solve XOR?

# %%
from microgradnn.data import make_xor

X_xor, y_xor = make_xor()
xor_losses = {}
for seed in range(10):
    model = MLP(2, [2, 1], activation="tanh", seed=seed)
    hist = fit(model, X_xor, y_xor, loss="bce_logits", optimizer="adam", lr=0.1, epochs=300,
               progress=False)
    xor_losses[seed] = (hist.train_loss[-1], hist.train_acc[-1] == 1.0)
    verdict = "solved" if hist.train_acc[-1] == 1.0 else "stuck"
    print(f"seed {seed}: final loss {hist.train_loss[-1]:.4f}  {verdict}")
print(f"two points of different classes merged into one, each predicted 1/2: loss "
      f"ln(2) / 2 = {math.log(2) / 2:.4f}")
print(f"three points merged, two of one class, predicted 2/3: loss "
      f"(ln 3 + 2 ln(3/2)) / 4 = {(math.log(3) + 2 * math.log(1.5)) / 4:.4f}")

# %% [markdown]
# Most seeds solve it, some are stuck, and their losses sit near the values printed last:
# those of a network that gets the other points right but has merged two (or three) points of
# different classes into one, so no output weight can pull them apart. The cure is the same as
# above: several random restarts (or a bigger network, whose loss has fewer bad valleys),
# keeping the best.
#
# ## Exercises
#
# Put your answer in place of `None` and run the cell; each check computes the expected answer
# afresh, so running it again gives the same verdict. Solutions are behind *Solution*.
#
# **1.** N = 1,000 examples and a batch size of B = 32: how many updates does one epoch make?
#
# <details><summary>Solution</summary>
#
# 1,000 / 32 = 31.25, so 31 full batches and one last batch of 8 examples: 32 updates,
# `ceil(N / B)`. (Some libraries can drop the last, smaller batch; microgradnn keeps it, so
# every example is seen once per epoch.)
# </details>

# %%
my_updates = None

if my_updates is None:
    print("Replace None by your answer, then run this cell again.")
else:
    counted = sum(1 for _ in batches(np.zeros((1000, 1)), np.zeros(1000), batch_size=32))
    assert my_updates == counted, "not yet: count the full batches, then the leftover examples"
    print("Correct!")

# %% [markdown]
# **2.** You train with B = 10 at lr = 0.1 and want to go to B = 40. What learning rate does
# the `sqrt(K)` rule suggest? (Three digits are enough.)
#
# <details><summary>Solution</summary>
#
# K = 40 / 10 = 4, so about `sqrt(4) × 0.1 = 0.2`. The measurement above says to try higher
# too (at equal epochs the ratio was about 4, and the optimum was broad).
# </details>

# %%
my_lr = None

if my_lr is None:
    print("Replace None by your answer, then run this cell again.")
else:
    k = 40 / 10
    assert math.isclose(my_lr, 0.1 * math.sqrt(k), rel_tol=5e-3), (
        "not yet: K times the batch, sqrt(K) times the learning rate"
    )
    print("Correct!")

# %% [markdown]
# **3.** On the 100:1 valley, plain SGD with lr = 1.1 (just above the bound). By what factor
# is `b` multiplied at every step? (Hint: `d f / d b = 2 b`; the loop of the first
# experiment.) What does that mean for `b` after many steps?
#
# <details><summary>Solution</summary>
#
# `b <- b - lr × 2 b = (1 - 2 × 1.1) b = -1.2 b`: every step flips the sign of `b` and makes
# it 1.2 times larger, so `b` zigzags from wall to wall ever higher and the run diverges,
# while `a` still shrinks slowly (`a <- (1 - 2 × 1.1 / 100) a = 0.978 a`). The steepest
# direction sets the largest usable learning rate.
# </details>

# %%
my_factor = None

if my_factor is None:
    print("Replace None by your answer, then run this cell again.")
else:
    path, _ = descend_valley(make_valley(100), OPTIMIZERS["SGD"], 1.1, (-9.0, 2.0), steps=5)
    factors = [after[1] / before[1] for before, after in zip(path[:-1], path[1:])]
    assert all(math.isclose(my_factor, f, rel_tol=1e-6) for f in factors), (
        "not yet: write b's update b - lr × df/db as a multiple of b"
    )
    print("Correct!")

# %% [markdown]
# ## Summary
#
# - Gradient descent repeats `theta <- theta - lr × g`. On `(w - 3)^2` a rate below 1
#   converges (zigzagging above 0.5) and a rate above 1 diverges: the steepest direction caps
#   the learning rate.
# - An epoch makes `ceil(N / B)` updates. Fitting a line at the same rate, SGD (B = 1) was far
#   ahead of GD after one epoch but ragged; mini-batches sat in between. Per epoch of wall time
#   on a network, SGD cost many times a mini-batch, whose batch is computed at once.
# - Shuffle every epoch: on sorted, unshuffled data the loss fell slowly and ended higher. A
#   decaying schedule was as fast as a large constant rate early and as precise as a small one late.
# - K times the batch: the gradient noise shrank like `1/sqrt(K)`, and the best learning rate
#   grew by a ratio below `sqrt(K)` at equal updates and of about K at equal epochs (the
#   linear-scaling rule), with a broad optimum: `sqrt(K)` is a first guess to tune around.
# - On a 100:1 valley along the axes, momentum, RMSProp and Adam, each at its best rate,
#   beat plain SGD by more than an order of magnitude (on a 10:1 valley SGD beat momentum and
#   Adam, and RMSProp won on both, as it does on any valley along the axes); turned by 45
#   degrees, Adam and RMSProp lost that edge.
# - Gradient descent ends in the valley it starts above: restart from several random points
#   (as for the XOR network) and keep the best.
