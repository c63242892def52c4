"""Notebook 7: two moons end to end (source of 07_two_moons.ipynb)."""

# %% [markdown]
# # 7. Two moons, end to end
#
# *Lecture: Neural network basics (lecture 2), "Learning recipe" and "Overfitting"; the
# regularisation and early-stopping cures are from From neural nets to deep learning
# (lecture 4), the history from Introduction to deep learning (lecture 1).*
#
# **Goal:** train a network on a real-looking problem, and learn to tell "cannot fit the
# training data" from "fits it too well" (overfitting), with a cure for each.
#
# Everything so far, in one project: data, a model, training with progress reports, the
# decision boundary taking shape; then the lecture's recipe for what to do when the result is
# bad.

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np

from microgradnn.data import make_moons, train_test_split
from microgradnn.nn import MLP
from microgradnn.train import EarlyStopping, Predictor, evaluate, fit, predict
from microgradnn.viz.plots import plot_decision_boundary, plot_loss

plt.rcParams["figure.dpi"] = 80

# %% [markdown]
# ## The data
#
# Two interleaving half-circles with some noise: no straight line separates them. We keep a
# quarter of the points aside as a **validation set**, never trained on, to measure how well
# the model does on points it has not seen.

# %%
X, y = make_moons(n=200, noise=0.2, seed=0)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, seed=0)
print(f"{len(X_train)} training and {len(X_val)} validation points, {X.shape[1]} features")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.scatter(*X_train.T, c=y_train, cmap="coolwarm", s=20, edgecolors="k", label="train")
ax.scatter(*X_val.T, c=y_val, cmap="coolwarm", s=30, marker="^", edgecolors="k",
           label="validation")
ax.legend()
plt.show()

# %% [markdown]
# ## Model and training
#
# A 2-16-16-1 network with ReLU hidden units outputs one score (a logit); binary cross-entropy
# on logits (`bce_logits`) is the loss, Adam the optimizer, mini-batches of 20.
#
# A **callback** is an object whose methods `fit` calls at fixed moments. This one prints a
# progress line every few epochs and keeps a copy of the model at some chosen epochs, so we
# can watch the decision boundary form. (`compiled=True` makes training much faster without
# changing the result; notebook 8 explains it.)
#
# **Predict:** after 2 epochs, will the boundary already be curved? After 60, will the
# validation accuracy be as high as the training accuracy?


# %%
class Progress:
    def __init__(self, every, snapshot_at):
        self.every = every
        self.snapshot_at = set(snapshot_at)
        self.snapshots = {}

    def on_train_begin(self, model):
        self.snapshots[0] = copy.deepcopy(model)

    def on_epoch_end(self, epoch, model, history):
        done = epoch + 1
        if done in self.snapshot_at:
            self.snapshots[done] = copy.deepcopy(model)
        if done % self.every == 0:
            print(f"epoch {done:3d}: loss {history.train_loss[-1]:.4f}, "
                  f"train acc {history.train_acc[-1]:.3f}, val acc {history.val_acc[-1]:.3f}")


model = MLP(2, [16, 16, 1], activation="relu", seed=0)
print(model, "with", model.num_parameters(), "parameters")
progress = Progress(every=10, snapshot_at=[2, 8])
history = fit(model, X_train, y_train, loss="bce_logits", optimizer="adam", lr=0.02, epochs=60,
              batch_size=20, validation_data=(X_val, y_val), callbacks=[progress], seed=0,
              compiled=True, progress=False)
progress.snapshots[history.epochs] = model

# %%
def as_probability(net):
    """The same network with a sigmoid on its output, so that its output is P(blue)."""
    prob = MLP(2, net.sizes, activation=net.activation, output_activation="sigmoid")
    prob.load_state_dict(net.state_dict())
    return prob


fig, axes = plt.subplots(2, 2, figsize=(8.5, 6.4), layout="constrained")
for ax, (epoch, snapshot) in zip(axes.flat, sorted(progress.snapshots.items())):
    plot_decision_boundary(as_probability(snapshot), X_train, y_train, ax=ax, resolution=100)
    ax.set_title(f"after {epoch} epochs")
    if epoch:
        ax.get_legend().remove()
plt.show()
plot_loss(history)

# %% [markdown]
# The pictures show the network's **probability** of the blue class, the sigmoid of its output
# (white is 0.5; the black line, the boundary). After 2 and 8 epochs the boundary is still
# two almost straight pieces; by epoch 60 it curves between the moons. Then the network
# classifies 97% of its training points and 94% of the validation points correctly: it learned
# the moons, not the particular points.
#
# ## The learning recipe
#
# When a trained network is not good enough, the lecture's recipe asks two questions in order.
#
# 1. **Is it good on the training data?** If not, either no function in the model's family
#    is good enough (change the **model**: more units, more layers), or training cannot find
#    one (change the **optimizer**, its learning rate, the initialisation; notebook 5).
# 2. **Is it good on the validation data too?** If it is good on training data but clearly
#    worse on validation data, it is **overfitting**: get more data, or regularise (L2,
#    dropout), or stop early. The next section shows this branch.
#
# The first branch on our moons: a linear model (`MLP(2, [1])`, logistic regression), and the
# 2-16-16-1 network trained with plain SGD at a tiny learning rate, both for the same 60 epochs.
#
# **Predict:** which of the two gets the training data right more often: the right model with
# a poor optimizer, or the wrong model with a good one?


# %%
def recipe_experiment(seed):
    """Training accuracy after 60 epochs: the wrong model, a poor optimizer, both fixed."""
    runs = {
        "linear model, Adam": (MLP(2, [1], seed=seed), "adam", 0.02),
        "2-16-16-1, SGD lr=0.002": (MLP(2, [16, 16, 1], seed=seed), "sgd", 0.002),
        "2-16-16-1, Adam": (MLP(2, [16, 16, 1], seed=seed), "adam", 0.02),
    }
    accuracy = {}
    for name, (net, optimizer, lr) in runs.items():
        fit(net, X_train, y_train, loss="bce_logits", optimizer=optimizer, lr=lr, epochs=60,
            batch_size=20, seed=seed, compiled=True, progress=False)
        accuracy[name] = evaluate(net, X_train, y_train, loss="bce_logits")["acc"]
    return accuracy


recipe = recipe_experiment(seed=0)
for name, acc in recipe.items():
    print(f"{name:24s} training accuracy {acc:.3f}")

# %% [markdown]
# Both are bad on the *training* data: a straight boundary gets roughly 86% of these moons
# right, and the network trained with SGD at
# `lr=0.002` has moved so little in 60 epochs that it does about as well as a straight line.
# Each run has one thing wrong, and fixing that one thing (the model in the first, the
# optimizer in the second) gives the third run, at 97%. Only then is it worth looking at the
# validation data.
#
# ## Overfitting
#
# Now make overfitting easy: few training points (40), a lot of noise, and many epochs (100),
# with a large validation set (200 points from the same moons) to measure it. The experiment
# trains the 2-16-16-1 network and returns its loss curves, its loss and accuracy on both sets,
# and the largest logit it gives a validation point (a measure of its confidence).
#
# The curves come from a callback, `LossCurves`: after every epoch it measures the
# cross-entropy on the whole training set and on the validation set with the weights of that
# moment. (`fit`'s own `history.train_loss` is a different number: the mean over the epoch's
# batches while the weights were still changing, plus the L2 penalty when there is one, the
# quantity the optimizer minimised.)
#
# **Predict:** over the 100 epochs, the training loss will keep falling. What will the
# validation loss do?

# %%
X_small, y_small = make_moons(n=40, noise=0.35, seed=1)
X_big_val, y_big_val = make_moons(n=200, noise=0.35, seed=2)


def data_loss(logits, targets):
    """Mean binary cross-entropy of logits, the bce_logits loss, with no L2 penalty."""
    return float(np.mean(np.logaddexp(0.0, logits) - targets * logits))


class LossCurves:
    """Callback: the data loss on each set with the weights at the end of every epoch."""

    def __init__(self, net, sets):
        self.predict = Predictor(net, compiled=True)  # traced once, replayed with numpy
        self.sets = sets
        self.curves = {name: [] for name in sets}

    def on_epoch_end(self, epoch, model, history):
        for name, (X_set, y_set) in self.sets.items():
            self.curves[name].append(data_loss(self.predict(X_set), y_set))


def overfit_experiment(seed, l2=0.0, patience=None, dropout=0.0, n_train=40):
    """Train 2-16-16-1 on n_train noisy moons; its history and numbers on both sets."""
    if n_train == 40:
        X_tr, y_tr = X_small, y_small
    else:
        X_tr, y_tr = make_moons(n=n_train, noise=0.35, seed=1)
    net = MLP(2, [16, 16, 1], activation="relu", seed=seed, dropout=dropout)
    curves = LossCurves(net, {"train": (X_tr, y_tr), "validation": (X_big_val, y_big_val)})
    stopper = EarlyStopping(patience=patience, restore_best=True) if patience else None
    hist = fit(net, X_tr, y_tr, loss="bce_logits", optimizer="adam", lr=0.02, epochs=100,
               batch_size=10, l2=l2, validation_data=(X_big_val, y_big_val), seed=seed,
               callbacks=[curves, stopper] if stopper else [curves],
               compiled=dropout == 0.0, progress=False)
    net.eval()
    best = int(np.argmin(curves.curves["validation"]))
    return {
        "model": net,
        "curves": curves.curves,
        "penalty": l2 * sum(p.data**2 for p in net.parameters()),
        "train": evaluate(net, X_tr, y_tr, loss="bce_logits"),
        "val": evaluate(net, X_big_val, y_big_val, loss="bce_logits"),
        "largest_logit": float(np.max(np.abs(predict(net, X_big_val, compiled=True)))),
        "best_epoch": best + 1,
        "epochs": hist.epochs,
    }


plain = overfit_experiment(seed=0)
train_curve, val_curve = plain["curves"]["train"], plain["curves"]["validation"]
b = plain["best_epoch"]
print(f"lowest validation loss at epoch {b}: train loss {train_curve[b - 1]:.3f}, "
      f"validation loss {val_curve[b - 1]:.3f}")
print(f"after epoch 100:                 train loss {train_curve[-1]:.3f}, "
      f"validation loss {val_curve[-1]:.3f}")
print(f"accuracy: train {plain['train']['acc']:.3f}, validation {plain['val']['acc']:.3f}; "
      f"largest |logit| on a validation point: {plain['largest_logit']:.0f}")

# %% [markdown]
# This is the second branch of the recipe. From epoch 10 on, the training loss keeps falling
# while the validation loss rises, to more than three times its lowest value: the network is
# learning its 40 training points (all of them right in the end, noise included), not the
# moons. Its validation accuracy ends far below its training accuracy.
#
# Much of the damage is **over-confidence**. Its largest logit on a validation point is about
# 60, a probability within e^-60 of 0 or 1: when such a point is on the wrong side, the
# cross-entropy charges about 60 for it. The logits keep growing because, once every training
# point is classified right, larger weights always lower the training loss a little more.
#
# Three cures, each trained from the same seed:
#
# - **L2 regularisation** adds `alpha × sum(w²)` to the loss, so every weight is pulled towards
#   0 a little at each step ("weight decay"): large weights must earn their keep.
# - **Early stopping** watches the validation loss and stops once it has not improved for 10
#   epochs, keeping the weights of its best epoch (`EarlyStopping(patience=10,
#   restore_best=True)`).
# - **More data**: the lecture's first tip. (`overfit_experiment(0, n_train=160)` trains on four
#   times as many points; try it.)
#
# **Predict:** which will reach the lower validation loss, L2 or early stopping? And which has
# the smaller logits?

# %%
cured = {
    "no regularisation": plain,
    "L2 (l2=0.003)": overfit_experiment(seed=0, l2=0.003),
    "early stopping": overfit_experiment(seed=0, patience=10),
}
for name, r in cured.items():
    print(f"{name:18s} {r['epochs']:3d} epochs | train: loss {r['train']['loss']:.3f} "
          f"acc {r['train']['acc']:.3f} | validation: loss {r['val']['loss']:.3f} "
          f"acc {r['val']['acc']:.3f} | largest |logit| {r['largest_logit']:5.1f}")
l2_run = cured["L2 (l2=0.003)"]
print(f"L2's penalty 0.003 × sum(w²) after training: {l2_run['penalty']:.3f}, not in the losses "
      f"above;\nwhat fit minimised, train loss + penalty: "
      f"{l2_run['train']['loss'] + l2_run['penalty']:.3f}")


# %% [markdown]
# The pictures show each network's probability of the blue class, as above (the same sigmoid
# for all three, so the colours compare). Below them, each run's loss curves from `LossCurves`:
# the cross-entropy alone, without L2's penalty (printed above: about a third of what `fit`
# minimised), so the first two end at the losses of the table. Early stopping's curves run to
# epoch 20, where it stopped; its row in the table has the weights of its best epoch (the
# dotted line), put back.


# %%
fig, axes = plt.subplots(2, len(cured), figsize=(3.7 * len(cured), 6.2), layout="constrained")
for col, (name, r) in enumerate(cured.items()):
    plot_decision_boundary(as_probability(r["model"]), X_small, y_small, ax=axes[0, col],
                           resolution=100)
    axes[0, col].set_title(name)
    axes[0, col].get_legend().remove()
    for curve, values in r["curves"].items():
        axes[1, col].plot(range(1, len(values) + 1), values, label=curve)
    if r["epochs"] < 100:
        axes[1, col].axvline(r["best_epoch"], color="grey", ls=":", label="weights kept")
    axes[1, col].set_xlabel("epoch")
    axes[1, col].set_xlim(0, 100)
    axes[1, col].set_ylim(0, 1.5)
    axes[1, col].legend()
plt.show()

# %% [markdown]
# Without regularisation the boundary bends around single noisy points of the training set,
# and the colour jumps from dark red to dark blue across it: outside a thin band the network
# is sure of itself, also where it is wrong. With L2 the boundary is simpler (it bends through
# the middle instead of looping around single points), the probabilities change gradually
# and the logits stay several times smaller: a wrong answer now costs little, and the
# validation loss is about a third of the unregularised one, with the best validation
# accuracy of the three. Early stopping keeps the weights of epoch 10, before the network had
# time to bend or to grow confident: its boundary is two almost straight pieces, and it
# reaches the same validation loss as L2, but it stopped so early that it is only about 75%
# right on its own training points.
#
# **Dropout**, the lecture's other tip, switches off a random fraction `p` of the hidden units
# at every training step, so no unit can rely on a few particular others; at evaluation
# (`model.eval()`) all units are on. Each example gets a new random mask, so a dropout run
# cannot be compiled and takes several times longer: `overfit_experiment(0, dropout=0.2)`
# trains one, if you want to compare.
#
# Lecture 3 shows networks like this one at work in
# [TensorFlow Playground](https://playground.tensorflow.org), in the browser. It has the knobs
# of this notebook: pick a data set, raise the noise, lower the ratio of training to test
# data, and watch the test loss climb while the training loss falls; then choose L2
# regularisation and watch the test loss again.
#
# ## Exercises
#
# **1.** Increase `l2` to 0.05 (`overfit_experiment(0, l2=0.05)`). What happens to both
# accuracies? Which branch of the recipe is the result in: `"overfitting"`, or
# `"underfitting"` (bad already on the training data)? The check trains it for you.
#
# <details><summary>Solution</summary>
#
# `"underfitting"`. The weights are pulled so hard towards 0 that the network can hardly bend:
# its training accuracy falls to 75% (the check prints it), from 87.5% at `l2=0.003`, and its
# validation accuracy falls with it, below the 86.5% of `l2=0.003`. The model now has too much
# bias; the first branch of the recipe applies (a weaker penalty, here).
# </details>

# %%
my_diagnosis = None  # "overfitting" or "underfitting"
if my_diagnosis is None:
    print("Fill in my_diagnosis, then run this cell again.")
else:
    strong = overfit_experiment(seed=0, l2=0.05)  # a fresh run each time
    print(f"l2=0.05: train acc {strong['train']['acc']:.3f}, "
          f"validation acc {strong['val']['acc']:.3f}")
    assert strong["train"]["acc"] < 0.85, "the run should be bad on its training data"
    assert my_diagnosis == "underfitting", "look at the training accuracy first"
    print("Correct!")

# %% [markdown]
# **2.** Four trained networks, with their accuracies (training, validation): A (0.86, 0.85),
# B (1.00, 0.77), C (0.97, 0.94), D (0.74, 0.52). For each, which step of the recipe applies:
# `"model or optimizer"` (bad on training data), `"overfitting"` (good on training, bad on
# validation), or `"done"`? (Treat 0.9 and above as good.)
#
# <details><summary>Solution</summary>
#
# A: `"model or optimizer"` (like the linear model above), B: `"overfitting"` (like the
# unregularised network on 40 points), C: `"done"` (like the first network), D: `"model or
# optimizer"`: it is bad on training data, so that is the first thing to fix, whatever the
# validation data say. What counts as good depends on the data: on the 40 very noisy points
# above, even a good boundary leaves some points on the wrong side, so the L2 network's 0.875
# is fine there.
# </details>

# %%
my_steps = {"A": None, "B": None, "C": None, "D": None}
if None in my_steps.values():
    print("Fill in my_steps, then run this cell again.")
else:
    cases = {"A": (0.86, 0.85), "B": (1.00, 0.77), "C": (0.97, 0.94), "D": (0.74, 0.52)}

    def recipe_step(train_acc, val_acc, good=0.9):
        if train_acc < good:
            return "model or optimizer"
        return "overfitting" if val_acc < good else "done"

    for case, (train_acc, val_acc) in cases.items():
        assert my_steps[case] == recipe_step(train_acc, val_acc), f"not yet: look at {case}"
    print("Correct!")

# %% [markdown]
# **3.** Train `MLP(2, [16, 16, 1], activation="tanh")` like the first model and draw its
# decision boundary next to the ReLU network's. One of the two activations gives a network
# whose output, along any straight line across the plane, is a chain of exactly straight
# segments joined at corners. Which one: `"relu"` or `"tanh"`? The check measures it on fresh
# networks along a line, with second differences (zero where the output is straight).
#
# <details><summary>Solution</summary>
#
# `"relu"`: each ReLU is straight on both sides of its kink, and sums and compositions of such
# pieces stay piecewise linear, so the boundary is made of straight segments with corners. A
# tanh network is smooth: its output curves everywhere, and so does its boundary.
# </details>

# %%
my_piecewise_linear = None  # "relu" or "tanh"
if my_piecewise_linear is None:
    print("Fill in my_piecewise_linear, then run this cell again.")
else:
    line = np.column_stack([np.linspace(-2, 3, 501), np.linspace(-1, 1.5, 501)])
    straight = {}
    for act in ("relu", "tanh"):
        out = predict(MLP(2, [16, 16, 1], activation=act, seed=0), line)
        curvature = np.abs(np.diff(out, 2))
        straight[act] = float(np.mean(curvature < 1e-9))  # share of straight steps
    print(", ".join(f"{act}: {share:.0%} of the steps straight" for act, share in
                    straight.items()))
    assert straight[my_piecewise_linear] > 0.9, "not that one: look at the shares"
    print("Correct!")

# %% [markdown]
# ## Where this comes from: a short history (lecture 1)
#
# - **McCulloch and Pitts**: a model of a neuron with adjustable weights, which are not
#   learned.
# - **Rosenblatt**: the perceptron, whose weights and threshold are learned.
# - **Widrow and Hoff** come next in the lecture's timeline, then **Minsky and Papert** with
#   the XOR problem: one layer of perceptrons cannot separate it (notebook 3).
# - **Rumelhart, Hinton and Williams (1986)**: backpropagation, activity forward and error
#   backward (notebook 1), which solves problems that are not linearly separable, at the price
#   of big computations, local optima and overfitting (this notebook).
# - **Vapnik and Cortes**: support vector machines, whose kernel functions need human choices.
# - **Hinton and Salakhutdinov**: hierarchical feature learning, in which deep networks learn
#   features layer by layer.
#
# ## Summary
#
# - A 2-16-16-1 ReLU network learned the two moons in 60 epochs, its boundary bending from a
#   near-straight line into the moons' shape.
# - The recipe's first question is the training data: a linear model, and the right network
#   with a poor optimizer, were both stuck at about 86%; the right model with Adam reached 97%.
# - On 40 noisy points the network overfits: training loss falls while validation loss rises
#   from epoch 10 on, and it becomes over-confident (logits of about 60).
# - L2 keeps the logits small and the validation loss low; early stopping keeps the best
#   epoch's weights; too much L2 underfits.
