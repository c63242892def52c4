"""Notebook 9: watch it learn, whole training steps recorded (source of the .ipynb of that name)."""

# %% [markdown]
# # 9. Watch it learn
#
# *Lectures: Introduction to deep learning (lecture 1: gradient descent `w <- w - eta dL/dw`,
# the learning rate too small or too large, backprop forward then backward); Neural network
# basics (lecture 2: GD vs SGD vs mini-batch SGD, `theta <- theta - eta (1/B) sum_k grad C_k`,
# epochs); From a linear model to a neural network (lecture 0: batches, epochs and updates);
# From neural nets to deep learning (lecture 4: the vanishing gradient, tanh saturates so the
# early layers stop learning).*
#
# **Goal:** record whole training steps of a network and read them: the four phases of one
# step, what the batch size changes, what a too large learning rate does, and how saturated
# units starve the first layer of gradient.
#
# `TrainingView(model, X, y, loss=..., lr=..., batch_size=...)` trains your model with
# microgradnn's own pieces, one optimizer step at a time, and keeps a **frame** per step: the
# batch, the losses, every parameter's value before the step, its gradient and its value after,
# what each example of the batch contributed to each gradient, the mean |gradient| of each
# layer and more. Displayed in a notebook it is a player you can step through; here we mostly
# read its numbers.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from microgradnn import no_grad
from microgradnn.data import make_moons
from microgradnn.nn import MLP
from microgradnn.viz import TrainingView

plt.rcParams["figure.dpi"] = 80


def losses(view):
    """The training loss before the first step, then after every recorded step."""
    return np.array([view.initial_loss] + [f.train_loss for f in view.frames])


def rises(curve):
    """How many steps made the training loss go up."""
    return int(np.sum(np.diff(curve) > 0))


# %% [markdown]
# ## 1. One step, four phases
#
# The two moons again (notebook 7), 100 points, and a 2-8-8-1 tanh network whose one output is
# a logit, trained with the binary cross-entropy on logits (`bce_logits`) by plain gradient
# descent: `batch_size=None` puts all 100 examples in every batch. `examples=[0]` asks the view
# to record the whole graph of example 0 at every step (each recorded graph makes the
# displayed view larger).

# %%
X, y = make_moons(n=100, noise=0.1, seed=0)
model = MLP(2, [8, 8, 1], activation="tanh", seed=0)
view = TrainingView(model, X, y, loss="bce_logits", optimizer="sgd", lr=0.5, batch_size=None,
                    examples=[0])
view.train(1)
f = view.frames[0]
print(f"step {f.step} (epoch {f.epoch}): {len(f.batch)} examples in the batch, "
      f"{len(f.grad)} parameters")
print(f"1 forward:  every example through the network; example 0 alone has loss "
      f"{f.examples[0].loss:.4f}")
print(f"2 loss:     the batch's mean loss {f.batch_loss:.4f} (the training loss before the "
      f"step: {view.initial_loss:.4f})")
print(f"3 backward: a gradient for every parameter, largest |grad| {np.abs(f.grad).max():.4f}")
print(f"4 update:   every parameter moved; the training loss is now {f.train_loss:.4f}")

# %% [markdown]
# With gradient descent the batch is the whole training set, so the loss the step starts from
# is the training loss before the step (the same number twice on line 2). The update then
# lowered it.
#
# ### The update, read from the frame
#
# The parameters have names: `L0.N0.w0` is layer 0, neuron 0, the weight on input 0.
# `f.before`, `f.grad` and `f.after` list every parameter in the order of `view.names`.
#
# **Predict:** plain SGD's rule is `new = old - lr × grad`. If `L0.N0.w0`'s gradient is
# negative, does the weight go up or down?

# %%
i = view.names.index("L0.N0.w0")
print(f"{view.names[i]}: old {f.before[i]:+.6f}, grad {f.grad[i]:+.6f}, lr {f.lr}")
print(f"  old - lr × grad = {f.before[i] - f.lr * f.grad[i]:+.6f}")
print(f"  new (recorded)  = {f.after[i]:+.6f}")
gap = np.max(np.abs(f.after - (f.before - f.lr * f.grad)))
print(f"largest |new - (old - lr × grad)| over all {len(f.after)} parameters: {gap:.1e}")
moved = np.abs(f.after - f.before)
print("moved most:", ", ".join(f"{view.names[k]} by {moved[k]:.4f}"
                               for k in np.argsort(-moved)[:4]))

# %% [markdown]
# The recorded new value is `old - lr × grad` exactly, for every parameter: the frame holds
# the engine's numbers, and the view's update table shows the same ones, sorted by how far each
# parameter moved.
#
# ### The batch gradient is a sum over the examples
#
# The batch loss is the mean of the 100 examples' losses, so its gradient is the sum of 100
# pieces: each example's own gradient divided by 100. The frame keeps them,
# `f.contributions[k, i]` for example `f.batch[k]` and parameter `i`.
#
# **Predict:** do all 100 examples push `L0.N0.w0` the same way?

# %%
c = f.contributions[:, i]
print(f"{len(c)} contributions to the gradient of {view.names[i]}: {np.sum(c > 0)} positive, "
      f"{np.sum(c < 0)} negative, {np.sum(c == 0)} zero")
print(f"their sum {c.sum():+.6f}; the batch gradient {f.grad[i]:+.6f}")
print(f"largest |sum - grad| over all parameters: "
      f"{np.max(np.abs(f.contributions.sum(axis=0) - f.grad)):.1e}")

order = np.argsort(c)
fig, ax = plt.subplots(figsize=(10, 3.2))
ax.bar(range(len(c)), c[order], color=np.where(y[f.batch[order]] == 0, "tab:red", "tab:blue"))
ax.axhline(0, color="black", lw=0.8)
ax.set_xlabel("examples of the batch, sorted (red: class 0, blue: class 1, as in the view)")
ax.set_ylabel("contribution")
ax.set_title(f"what each example adds to the gradient of {view.names[i]} "
             f"(sum {c.sum():+.4f})")
plt.show()

# %% [markdown]
# The examples disagree: some push the weight one way, some the other, and the step follows
# their sum. That is what "the gradient of the mean loss" means, and why a batch of a few
# examples gives a different, noisier direction than all of them (section 2).
#
# ### The view
#
# 14 more steps, then the view itself (15 steps in all: each recorded step makes it larger).
# Live in Jupyter, or in the page `save_html` writes, you can play it, step through the four
# phases of each step (forward: values fill in the graph of example 0; loss; backward: the
# gradients fill in; update: the table of old value, grad and new value), scrub through the
# steps, and pick a first-layer weight to see its per-example bars. Where no script runs (on
# GitHub, say), it shows a picture of the last step: the decision boundary with the first
# layer's zero lines, and the loss curve.

# %%
view.train(14)
view

# %% [markdown]
# `view.save_html(path)` writes the same view as one self-contained page (no network needed),
# to open in a browser, put on a course site or send by email. Here it goes to a temporary
# folder:

# %%
with tempfile.TemporaryDirectory() as folder:
    page = view.save_html(Path(folder) / "moons_watch.html")
    print(f"{page.name}: {page.stat().st_size / 1e3:.0f} kB, {len(view.frames)} steps")

# %% [markdown]
# ## 2. Gradient descent, SGD and mini-batches, step by step
#
# The lecture's three ways to batch: **gradient descent** (all examples per update), **SGD**
# (one example per update) and **mini-batch SGD** (`B` examples). One epoch is one pass over
# the training set, so with `N` examples it takes `N / B` updates, rounded up (the last batch
# may be smaller). We train the same network from the same start, 40 steps of each, and read
# the frames.
#
# **Predict:** per step, which of the three training-loss curves is smooth and which is
# jagged? And after 40 steps, which is lowest?


# %%
BATCHES = {"GD (all 100)": None, "SGD (1)": 1, "mini-batch (16)": 16}


def batching_experiment(seed, steps=40):
    """The same network (seed) trained `steps` steps with each batch size, frames kept."""
    runs = {}
    for name, batch_size in BATCHES.items():
        net = MLP(2, [8, 8, 1], activation="tanh", seed=seed)
        v = TrainingView(net, X, y, loss="bce_logits", lr=0.5, batch_size=batch_size,
                         seed=seed, examples=[0])
        v.train(steps)
        curve = losses(v)
        runs[name] = {
            "curve": curve.tolist(),
            "end": float(curve[-1]),
            "rises": rises(curve),
            "epochs": v.frames[-1].epoch + 1,
            "examples used": int(sum(len(fr.batch) for fr in v.frames)),
            "batches": [fr.batch.tolist() for fr in v.frames],
        }
    return runs


batching = batching_experiment(seed=0)
print(f"{'':16s} {'loss after 40':>13s} {'steps up':>9s} {'epochs':>7s} {'examples used':>14s}")
for name, r in batching.items():
    print(f"{name:16s} {r['end']:13.3f} {r['rises']:9d} {r['epochs']:7d} "
          f"{r['examples used']:14d}")

fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.6))
for name, r in batching.items():
    sizes = [len(b) for b in r["batches"]]
    axes[0].plot(r["curve"], label=name)
    axes[1].plot(np.concatenate([[0], np.cumsum(sizes)]), r["curve"], label=name)
axes[0].set_xlabel("step")
axes[0].set_title("per step")
axes[1].set_xscale("symlog", linthresh=10)
axes[1].set_xlabel("examples used so far (forward and backward passes)")
axes[1].set_title("per example used")
for ax in axes:
    ax.set_ylabel("training loss")
    ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# Per step, gradient descent wins: its curve falls at every one of the 40 steps and ends
# lowest. SGD's curve is jagged (the loss on all 100 points went up at more than half of its
# steps: one example's gradient is a poor guess of the mean's) and mini-batches are in
# between. But a GD step costs 100 examples' forward and backward passes, an SGD step one.
# Per example used (right, logarithmic axis) the picture turns around: the mini-batch run's
# 580 examples bring the loss well below where gradient descent is after 500, and SGD, within
# its 40 examples, touches losses that gradient descent needs several steps (hundreds of
# examples) for, though it does not stay there. That is why the lecture calls mini-batch the
# usual choice (notebook 5 compares them per epoch and per second).
#
# ### Which examples are in a batch
#
# `frame.batch` lists the rows of `X` in the step's batch. The view draws a fresh random order
# every epoch (seeded by `seed=`) and cuts it into batches.

# %%
mini = batching["mini-batch (16)"]["batches"]
print("mini-batch, step 0:", mini[0])
print("mini-batch, step 1:", mini[1])
first_epoch = mini[:7]
rows = sorted(r for b in first_epoch for r in b)
print(f"steps 0-6 (epoch 0): batch sizes {[len(b) for b in first_epoch]}, "
      f"{len(rows)} rows, each of 0-99 once: {rows == list(range(100))}")
print("SGD, steps 0-5:", [b[0] for b in batching["SGD (1)"]["batches"][:6]])

# %% [markdown]
# An epoch of mini-batches of 16 is 7 steps (6 batches of 16 and one of 4) and visits every
# example exactly once; the next epoch starts a new order.
#
# ### Exercise 1: how many steps per epoch?
#
# With `batch_size=32` on the same 100 examples, how many steps make one epoch, and how many
# examples are in its last batch? (The check records a few steps and reads their frames.)
#
# <details><summary>Solution</summary>
#
# 100 / 32 = 3.125, rounded up: **4** steps, three batches of 32 and a last one of
# 100 - 96 = **4**. The lecture's examples: 10,000 examples in batches of 10 make 1,000
# updates per epoch; 1,000 in batches of 100 make 10.
# </details>

# %%
my_steps_per_epoch = None
my_last_batch = None
if my_steps_per_epoch is None or my_last_batch is None:
    print("Fill in my_steps_per_epoch and my_last_batch, then run this cell again.")
else:
    check_view = TrainingView(MLP(2, [4, 1], activation="tanh", seed=0), X, y,
                              loss="bce_logits", lr=0.5, batch_size=32, examples=[0])
    check_view.train(my_steps_per_epoch + 1)
    frames = check_view.frames
    assert frames[-1].epoch == 1 and all(fr.epoch == 0 for fr in frames[:-1]), (
        "that many steps is not one epoch"
    )
    assert len(frames[-2].batch) == my_last_batch, "not the size of the epoch's last batch"
    print("Correct!")

# %% [markdown]
# ## 3. A learning rate too large
#
# Gradient descent again, the same network, 20 steps at three learning rates: the 0.5 of
# section 1, 4 times larger and 40 times larger.
#
# **Predict:** at `lr = 20`, does the very first step lower the training loss?


# %%
LRS = (0.5, 2.0, 20.0)


def lr_experiment(seed, steps=20):
    """Gradient descent on the moons at each learning rate: the loss curve and its ups."""
    runs = {}
    for lr in LRS:
        net = MLP(2, [8, 8, 1], activation="tanh", seed=seed)
        v = TrainingView(net, X, y, loss="bce_logits", lr=lr, examples=[0])
        v.train(steps)
        curve = losses(v)
        runs[lr] = {
            "curve": curve.tolist(),
            "start": float(curve[0]),
            "after 1": float(curve[1]),
            "max": float(curve.max()),
            "end": float(curve[-1]),
            "rises": rises(curve),
            "largest move": float(max(np.abs(fr.after - fr.before).max() for fr in v.frames)),
        }
    return runs


lr_runs = lr_experiment(seed=0)
print(f"{'lr':>5s} {'start':>7s} {'after 1':>8s} {'highest':>8s} {'after 20':>9s} "
      f"{'steps up':>9s} {'largest move of a parameter':>28s}")
for lr, r in lr_runs.items():
    print(f"{lr:5.1f} {r['start']:7.3f} {r['after 1']:8.3f} {r['max']:8.3f} {r['end']:9.3f} "
          f"{r['rises']:9d} {r['largest move']:28.3f}")

fig, ax = plt.subplots(figsize=(8, 3.6))
for lr, r in lr_runs.items():
    ax.plot(r["curve"], marker="o", ms=3, label=f"lr = {lr}")
ax.set_yscale("log")
ax.set_xlabel("step")
ax.set_ylabel("training loss (log scale)")
ax.set_title("gradient descent on the moons, three learning rates")
ax.legend(loc="center right")
plt.show()

# %% [markdown]
# - `lr = 0.5`: the loss falls at every step.
# - `lr = 2`: faster at first, then the loss goes up at some steps and down at the next: the
#   steps overshoot the bottom of the valley a little, from one side to the other.
# - `lr = 20`: already the first step raises the loss. After that it jumps up and down between
#   values several times apart (the highest is more than 60 times the start), and after 20
#   steps it is higher than where it started. The last column says why: a single step moved
#   some parameter by about 100, where at `lr = 0.5` no parameter ever moved by more than 0.05.
#   Such a step lands far outside the region where the gradient described the loss.
#
# The gradient says which way is downhill *here*; the learning rate decides how far to trust
# it. Too far, and the step lands somewhere the loss is higher.
#
# ### Exercise 2: how large can it be?
#
# Find a learning rate **at least 1** (twice the 0.5 above) for which the training loss goes
# down at every one of 20 steps of gradient descent. The check trains a fresh network with
# your `my_lr` and counts the steps where the loss went up.
#
# <details><summary>Solution</summary>
#
# `my_lr = 1.0` works: the loss falls at all 20 steps and ends below 0.5's; so does 1.25. At
# 1.5 it goes up at some steps after the tenth, at 2 (above) earlier: the edge lies between
# 1.25 and 1.5 for this network, start and number of steps.
# </details>

# %%
my_lr = None
if my_lr is None:
    print("Fill in my_lr, then run this cell again.")
else:
    net = MLP(2, [8, 8, 1], activation="tanh", seed=0)
    check_view = TrainingView(net, X, y, loss="bce_logits", lr=my_lr, examples=[0])
    check_view.train(20)
    curve = losses(check_view)
    print(f"lr = {my_lr}: loss {curve[0]:.3f} -> {curve[-1]:.3f}, "
          f"up at {rises(curve)} of 20 steps")
    assert my_lr >= 1, "at least 1, please: 0.5 is known to work"
    assert rises(curve) == 0, "the loss went up at some steps: try a smaller lr"
    print("Correct!")

# %% [markdown]
# ## 4. Saturated units: the first layer stops learning
#
# A deeper tanh network, 2-8-8-8-8-1, with microgradnn's default (Xavier) weights, but every
# hidden unit's bias drawn at random between -5 and 5 instead of starting at 0. A unit with
# bias 3 computes `tanh(3 + ...)`: near 1, on the flat part of tanh, where `tanh'` is almost
# 0: the unit is **saturated**. Backprop multiplies the gradient by `tanh'(s)` at every layer
# it goes back through, so the first layer, the furthest from the loss, gets the product of
# four such factors. The frames record each layer's mean |gradient| at every step
# (`f.layer_grad`; `L0` is the first hidden layer, `L4` the output). We train on mini-batches
# of 20 and count the hidden units with `|tanh| > 0.95` (`tanh' < 0.1`) before training.
#
# **Predict:** how much smaller than the output layer's will the first layer's gradient be:
# about the same, ten times, a hundred times?


# %%
def saturating_net(seed, bias_range):
    """2-8-8-8-8-1 tanh with default weights and hidden biases drawn from U(-range, range)."""
    net = MLP(2, [8, 8, 8, 8, 1], activation="tanh", seed=seed)
    rng = np.random.default_rng(seed)
    for layer in net.layers[:-1]:
        for neuron in layer.neurons:
            neuron.b.data = float(rng.uniform(-bias_range, bias_range))
    return net


def saturated_share(net):
    """The share of hidden-unit outputs over the training points with |tanh| > 0.95."""
    flat = total = 0
    with no_grad():
        for x in X.tolist():
            h = x
            for layer in net.layers[:-1]:
                h = layer(h)
                flat += sum(abs(u.data) > 0.95 for u in h)
                total += len(h)
    return flat / total


def saturation_experiment(seed, bias_range, steps=30):
    """Train the network `steps` mini-batch steps; per-layer gradient sizes from the frames."""
    net = saturating_net(seed, bias_range)
    share = saturated_share(net)
    v = TrainingView(net, X, y, loss="bce_logits", lr=0.5, batch_size=20, seed=seed,
                     examples=[0])
    v.train(steps)
    grads = np.array([fr.layer_grad for fr in v.frames])  # steps x layers
    return {
        "saturated": share,
        "grads": grads.tolist(),
        "first/output at step 0": float(grads[0, 0] / grads[0, -1]),
        "first/output, mean": float(np.mean(grads[:, 0] / grads[:, -1])),
        "start": float(v.initial_loss),
        "end": float(v.frames[-1].train_loss),
    }


def report(name, r):
    grads0 = "  ".join(f"{g:.4f}" for g in r["grads"][0])
    print(f"{name}: {r['saturated']:.0%} of the hidden outputs saturated before training")
    print(f"  mean |grad| per layer at step 0, L0 ... L4: {grads0}")
    print(f"  first / output layer: {r['first/output at step 0']:.3f} at step 0, "
          f"{r['first/output, mean']:.3f} on average over 30 steps")
    print(f"  training loss {r['start']:.3f} -> {r['end']:.3f}")


saturated = saturation_experiment(seed=0, bias_range=5.0)
report("biases in [-5, 5]", saturated)

# %% [markdown]
# The gradient shrinks layer by layer on its way back: at step 0 the first layer gets less
# than a hundredth of what the output layer gets, and over the 30 steps a few hundredths on
# average. The hidden layers hardly learn, and the loss ends near `ln 2 = 0.693`, what a
# network that answers 50/50 for every point scores: only the output layer learns, from hidden
# outputs that sit near -1 or 1 for most points.

# %% [markdown]
# ### The fix: start the units in the steep part
#
# The cure the lecture names is careful initialisation: start every unit where `tanh'` is
# large, around 0. microgradnn does that by default (biases 0, weights scaled to the layer's
# width), so the fix is to leave the biases alone. The same network, weights and batches, with
# biases 0:
#
# **Predict:** will the first layer now get about as much gradient as the output layer?

# %%
fixed = saturation_experiment(seed=0, bias_range=0.0)
report("biases 0 (the default)", fixed)

fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.6), sharey=True)
for ax, (name, r) in zip(axes, [("biases in [-5, 5]", saturated), ("biases 0", fixed)]):
    grads = np.array(r["grads"])
    for layer in range(grads.shape[1]):
        label = f"L{layer}" + (" (first)" if layer == 0 else
                               " (output)" if layer == grads.shape[1] - 1 else "")
        ax.plot(grads[:, layer], label=label)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title(f"{name}: loss {r['start']:.2f} -> {r['end']:.2f}")
axes[0].set_ylabel("mean |grad| of the layer")
axes[1].legend(fontsize=9, ncol=2)
plt.tight_layout()
plt.show()

# %% [markdown]
# With biases at 0 hardly any hidden output starts saturated, all five layers get gradients
# of similar size (right) and the loss falls. With the large biases (left) every hidden
# layer's gradient lies one to two orders of magnitude below the output layer's all along.
# Notebook 6 measures the gradient layer by layer in a 12-layer network, and tries the other
# cures the lecture lists (skip connections, normalisation, ReLU).
#
# ## Summary
#
# - A training step is four phases: forward (every example through the network), loss (the
#   batch's mean), backward (a gradient for every parameter), update (`new = old - lr × grad`
#   for SGD). `TrainingView` records each step as a frame, and the frame's numbers are the
#   engine's: the new values were `old - lr × grad` to the last digit.
# - The batch gradient is the sum of every example's share; the examples disagree, and the
#   shares add up to the gradient to within 1e-16.
# - Per step, gradient descent's loss fell smoothly and lowest; SGD's was jagged and
#   mini-batches in between; per example used, SGD and mini-batches needed far less work.
#   An epoch of batch size `B` on `N` examples is `N / B` steps, rounded up.
# - A learning rate 4 times larger (2) made the loss wobble; 40 times larger (20) made the
#   first step go uphill and the loss end above its start.
# - Saturated tanh units (here from large biases) multiply the gradient by a small `tanh'` at
#   every layer going back: the first layer got a small fraction of the output layer's
#   gradient and the network did not learn; starting the biases at 0 (the default) fixed it.
