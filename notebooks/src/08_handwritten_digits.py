"""Notebook 8: handwritten digits (source of 08_handwritten_digits.ipynb)."""

# %% [markdown]
# # 8. Handwritten digits
#
# A real data set at last: 1,797 handwritten digits, each an 8x8 grey image, bundled with
# scikit-learn (no download). We turn images into vectors and labels into one-hot targets,
# train a softmax classifier and then a small MLP, read the confusion matrix, look at the
# mistakes, and finally export the model to PyTorch, where you can take it further.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from microgradnn.data import load_digits, one_hot, train_test_split
from microgradnn.nn import MLP
from microgradnn.train import evaluate, fit, predict

plt.rcParams["figure.dpi"] = 80

X, y = load_digits()
print(f"X: {X.shape}, values from {X.min()} to {X.max()}; y: {y.shape}, classes {np.unique(y)}")

# %% [markdown]
# ## An image is a vector
#
# Each row of `X` is one image read row by row: 8 × 8 = 64 numbers, 0 for white paper up to 1
# for full ink. The label is the digit. For 10 classes, the target the network aims at is the
# **one-hot** vector: ten numbers, all 0 except a 1 at the digit's position.

# %%
fig, axes = plt.subplots(1, 8, figsize=(10, 1.8))
for ax, image, label in zip(axes, X, y):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_title(str(label))
    ax.axis("off")
plt.show()
print("first image as a vector (first 16 of 64 values):", X[0, :16].round(2))
print("its label", y[0], "one-hot:", one_hot(y[:1], 10)[0])

# %% [markdown]
# We hold out a quarter of the images as a test set (stratified: each digit in the same
# proportion in both parts).

# %%
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0, stratify=True)
print(f"train {X_train.shape}, test {X_test.shape}")

# %% [markdown]
# ## A softmax classifier
#
# The simplest model: ten neurons without activation, one per digit, each computing a score
# (logit) `z_k = w_k . x + b_k` from all 64 pixels; softmax turns the ten scores into
# probabilities, and cross-entropy on logits is the loss. In microgradnn that is
# `MLP(64, [10])`, a single linear layer. How big is it, and how big is the graph of the loss
# for one single example?

# %%
from microgradnn.losses import cross_entropy_loss

probe = MLP(64, [10], seed=0)
one_loss = cross_entropy_loss([probe(X_train[0])], [y_train[0]])
print(f"{probe.num_parameters()} parameters; one example's loss graph has "
      f"{len(one_loss.topological_order()):,} nodes")

# %% [markdown]
# A scalar engine builds and walks that many Python objects for every example of every epoch.
# So here we use `compiled=True`: `fit` traces the graph of one example once and replays it
# with numpy over each whole mini-batch (the same maths and the same gradients, computed for
# the whole batch at once). Let's time one epoch both ways:

# %%
for compiled in (False, True):
    probe = MLP(64, [10], seed=0)
    start = time.perf_counter()
    fit(probe, X_train, y_train, loss="cross_entropy", optimizer="adam", lr=0.01, epochs=1,
        batch_size=32, compiled=compiled, progress=False)
    print(f"compiled={compiled}: one epoch took {time.perf_counter() - start:.2f} s")

# %%
softmax_clf = MLP(64, [10], seed=0)
print(softmax_clf.num_parameters(), "parameters")
hist = fit(softmax_clf, X_train, y_train, loss="cross_entropy", optimizer="adam", lr=0.01,
           epochs=30, batch_size=32, validation_data=(X_test, y_test), compiled=True,
           progress=False)
print(f"softmax classifier: train accuracy {hist.train_acc[-1]:.3f}, "
      f"test accuracy {hist.val_acc[-1]:.3f}")

# %% [markdown]
# ## A hidden layer
#
# Now an MLP with one hidden layer of 32 ReLU units: 64 -> 32 -> 10.

# %%
mlp = MLP(64, [32, 10], activation="relu", seed=0)  # how many parameters? exercise 1 asks
hist = fit(mlp, X_train, y_train, loss="cross_entropy", optimizer="adam", lr=0.01, epochs=30,
           batch_size=32, validation_data=(X_test, y_test), compiled=True, progress=False)
print(f"MLP: train accuracy {hist.train_acc[-1]:.3f}, test accuracy {hist.val_acc[-1]:.3f}")

from microgradnn.viz.plots import plot_loss

plot_loss(hist)

# %% [markdown]
# ## Where does it go wrong? The confusion matrix
#
# Row `i`, column `j` counts the test images of digit `i` that the model called `j`; a perfect
# model has numbers only on the diagonal.

# %%
logits = predict(mlp, X_test)
y_pred = logits.argmax(axis=1)
accuracy = np.mean(y_pred == y_test)
print(f"test accuracy {accuracy:.3f}: {np.sum(y_pred != y_test)} of {len(y_test)} wrong")
scores = evaluate(mlp, X_test, y_test, loss="cross_entropy")
print(f"evaluate() agrees: accuracy {scores['acc']:.3f}, mean loss {scores['loss']:.3f}")

confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (y_test, y_pred), 1)
fig, ax = plt.subplots(figsize=(5, 4.5))
ax.imshow(confusion, cmap="Blues")
for i in range(10):
    for j in range(10):
        if confusion[i, j]:
            color = "white" if confusion[i, j] > confusion.max() / 2 else "black"
            ax.text(j, i, confusion[i, j], ha="center", va="center", color=color, fontsize=8)
ax.set_xticks(range(10))
ax.set_yticks(range(10))
ax.set_xlabel("predicted")
ax.set_ylabel("true")
plt.show()

# %% [markdown]
# And the misclassified images themselves, with the probability the model gave its wrong
# answer. Would you have read them correctly?

# %%
wrong = np.flatnonzero(y_pred != y_test)
shifted = logits - logits.max(axis=1, keepdims=True)
probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
shown = wrong[:8]
fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(10, 1.9), squeeze=False)
for ax, i in zip(axes[0], shown):
    ax.imshow(X_test[i].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"{y_test[i]} -> {y_pred[i]}\n{probs[i, y_pred[i]]:.0%}", fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Graduation: the same model in PyTorch
#
# You now know what PyTorch does inside: `torch.nn.Linear` is a layer of our neurons,
# `loss.backward()` is our backward pass (on matrices instead of scalars), `torch.optim.Adam`
# is our Adam. `mlp.to_torch()` builds the equivalent `torch.nn.Sequential` with the same
# weights (in float64), so it must give the same predictions. (This cell only needs PyTorch;
# without it, it says so and the rest of the notebook still works.)

# %%
try:
    import torch
except ImportError:
    torch = None
    print("PyTorch is not installed: skipping the comparison (pip install 'microgradnn[torch]')")

if torch is not None:
    seq = mlp.to_torch()
    print(seq)
    with torch.no_grad():
        torch_logits = seq(torch.tensor(X_test, dtype=torch.float64)).numpy()
    same = np.array_equal(torch_logits.argmax(axis=1), y_pred)
    print(f"same predicted digits: {same}; largest logit difference: "
          f"{np.abs(torch_logits - logits).max():.1e}")
    assert same

# %% [markdown]
# ## Exercises
#
# **1.** How many parameters does `MLP(64, [32, 10])` have? Count by hand (weights and biases
# of each layer), then check with `num_parameters()`.
#
# <details><summary>Solution</summary>
#
# Hidden layer: 64 × 32 weights + 32 biases = 2,080; output: 32 × 10 + 10 = 330; total 2,410.
# </details>

# %%
my_count = None
if my_count is None:
    print("Fill in my_count, then run this cell again.")
else:
    # a fresh model, so the verdict does not depend on what other cells did to `mlp`
    assert my_count == MLP(64, [32, 10]).num_parameters(), "a weight per input, plus a bias"
    print("Correct!")

# %% [markdown]
# **2.** Which pair of digits does the model confuse most often? Find it from the `confusion`
# array with numpy (hint: zero the diagonal, then `np.unravel_index(confusion.argmax(), ...)`).
#
# **3.** Try 64 hidden units, or two hidden layers `[32, 32, 10]`. Does the test accuracy
# improve? Does the gap between train and test accuracy grow?
