"""Notebook 7: two moons end to end (source of 07_two_moons.ipynb)."""

# %% [markdown]
# # 7. Two moons, end to end
#
# Everything so far, in one project: data, a model, training with progress reports, the
# decision boundary taking shape, and then the central worry of machine learning, a model that
# learns its training set *too* well (overfitting), with two cures: L2 regularisation and
# dropout.

# %%
import copy

import matplotlib.pyplot as plt

from microgradnn.data import make_moons, train_test_split
from microgradnn.nn import MLP
from microgradnn.train import evaluate, fit
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
fig, axes = plt.subplots(1, len(progress.snapshots), figsize=(3.4 * len(progress.snapshots), 3),
                         layout="constrained")
for ax, (epoch, snapshot) in zip(axes, sorted(progress.snapshots.items())):
    plot_decision_boundary(snapshot, X_train, y_train, ax=ax, resolution=100)
    ax.set_title(f"after {epoch} epochs")
plt.show()
plot_loss(history)

# %% [markdown]
# ## Overfitting
#
# Now make overfitting easy: few training points, a lot of noise, and many epochs. The network
# can then memorise the noise: the training loss keeps falling while the validation loss,
# after a while, rises. We train the same network three times: as it is, with L2
# regularisation, and with dropout (which draws a new random mask for every example, so that
# run cannot be compiled and takes a little longer).

# %%
X_small, y_small = make_moons(n=40, noise=0.35, seed=1)
X_big_val, y_big_val = make_moons(n=200, noise=0.35, seed=2)
settings = {
    "no regularisation": {},
    "L2 (l2=0.003)": {"l2": 0.003},
    "dropout (p=0.2)": {"dropout": 0.2},
}
results = {}
for name, setting in settings.items():
    dropout = setting.get("dropout", 0.0)
    model = MLP(2, [16, 16, 1], activation="relu", seed=0, dropout=dropout)
    hist = fit(model, X_small, y_small, loss="bce_logits", optimizer="adam", lr=0.02,
               epochs=100, batch_size=10, l2=setting.get("l2", 0.0),
               validation_data=(X_big_val, y_big_val), seed=0, compiled=dropout == 0.0,
               progress=False)
    train = evaluate(model, X_small, y_small, loss="bce_logits")
    val = evaluate(model, X_big_val, y_big_val, loss="bce_logits")
    results[name] = (model, hist, train, val)
    print(f"{name:18s} train: loss {train['loss']:.3f} acc {train['acc']:.3f} | "
          f"validation: loss {val['loss']:.3f} acc {val['acc']:.3f}")

# %%
fig, axes = plt.subplots(2, len(results), figsize=(3.6 * len(results), 6), layout="constrained")
for col, (name, (model, hist, _, _)) in enumerate(results.items()):
    plot_decision_boundary(model, X_small, y_small, ax=axes[0, col], resolution=100)
    axes[0, col].set_title(name)
    axes[1, col].plot(hist.train_loss, label="train")
    axes[1, col].plot(hist.val_loss, label="validation")
    axes[1, col].set_xlabel("epoch")
    axes[1, col].set_ylim(0, 1.5)
    axes[1, col].legend()
plt.show()

# %% [markdown]
# Compare the rows of the table above. Without regularisation the network fits its 40 training
# points best, with a wiggly boundary that wraps around individual noisy points, and pays for it
# on the validation set: look at the validation loss, which punishes confident mistakes, and at
# the validation curve turning upwards.
#
# - **L2 regularisation** adds `alpha * sum(w^2)` to the loss, so every weight is pulled
#   towards 0 a little at each step ("weight decay"): large weights, which make sharp wiggles,
#   must earn their keep. (The curves above include this penalty in both losses; the table
#   above does not.)
# - **Dropout** switches off a random fraction `p` of the hidden units at every training step,
#   so no unit can rely on a few particular others; at evaluation (`model.eval()`) all units
#   are on. Its training loss is noisier and higher, as it trains a slightly different network
#   at each step.
#
# The other cure in the lecture recipe is **more data**: rerun the cell with `n=400`.
#
# ## Exercises
#
# **1.** Increase `l2` to 0.05. What happens to the boundary and to both accuracies? What is
# this failure called?
#
# <details><summary>Solution</summary>
#
# The weights are pushed so hard towards 0 that the boundary becomes almost a straight line:
# both training and validation accuracy drop. The model now *underfits* (too much bias).
# </details>
#
# **2.** Use `fit(..., callbacks=[EarlyStopping(patience=10)])` (from `microgradnn.train`) on
# the unregularised model. At which epoch does it stop, and is the validation loss better?
#
# **3.** Plot the decision boundary of the first model with a different activation
# (`activation="tanh"`). How does the boundary's shape change?
#
# <details><summary>Solution</summary>
#
# ReLU networks are piecewise linear: their boundaries are made of straight segments with
# corners. A tanh network's boundary is smooth.
# </details>
