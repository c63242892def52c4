"""Notebook 8: handwritten digits (source of 08_handwritten_digits.ipynb)."""

# %% [markdown]
# # 8. Handwritten digits
#
# *Lectures: Neural network basics (lecture 2): handwriting digit classification, an image as
# a vector and a label as a one-hot vector, mini-batches computed as matrix products; and
# Shallow networks (lecture 3): a hidden layer, then a softmax output trained with
# cross-entropy.*
#
# **Goal:** classify real handwritten digits, first with a softmax classifier, then with an MLP
# that does better, trained fast enough with compiled mini-batches.
#
# A real data set at last: 1,797 handwritten digits, each an 8 × 8 grey image, bundled with
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
# for full ink (the lecture's images are 16 × 16 and store 1 for ink, 0 otherwise: the same
# idea). The label is the digit. For 10 classes, the target the network aims at is the
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
# the whole batch at once: the lecture's point that a matrix-matrix product over a mini-batch
# beats one matrix-vector product per example). Let's time one epoch both ways.
#
# **Predict:** how many times faster is the compiled epoch: 2 times, 10 times, 100 times?

# %%
seconds = {}
for compiled in (False, True):
    probe = MLP(64, [10], seed=0)
    start = time.perf_counter()
    fit(probe, X_train, y_train, loss="cross_entropy", optimizer="adam", lr=0.01, epochs=1,
        batch_size=64, compiled=compiled, progress=False)
    seconds[compiled] = time.perf_counter() - start
    print(f"compiled={compiled}: one epoch took {seconds[compiled]:.2f} s")
print(f"compiled is {seconds[False] / seconds[True]:.0f} times faster")

# %% [markdown]
# (Timings vary from run to run and machine to machine; the ratio is what matters.) Every
# model below trains the same way, so one function does it: 20 epochs of Adam on mini-batches
# of 64, compiled, with the test set evaluated after each epoch. The seed fixes both the
# initial weights and the shuffling.


# %%
def train_digits(sizes, seed=0, epochs=20):
    """Train MLP(64, sizes) on the training images; return the model and its History."""
    model = MLP(64, sizes, activation="relu", seed=seed)
    hist = fit(model, X_train, y_train, loss="cross_entropy", optimizer="adam", lr=0.01,
               epochs=epochs, batch_size=64, seed=seed, validation_data=(X_test, y_test),
               compiled=True, progress=False)
    return model, hist


softmax_clf, softmax_hist = train_digits([10])
print(f"softmax classifier: train accuracy {softmax_hist.train_acc[-1]:.3f}, "
      f"test accuracy {softmax_hist.val_acc[-1]:.3f}")

# %% [markdown]
# ## A hidden layer
#
# Now an MLP with one hidden layer of 32 ReLU units: 64 -> 32 -> 10. The softmax classifier
# draws ten linear boundaries in pixel space; the hidden layer first computes 32 features of
# its own from the pixels.
#
# **Predict:** will the MLP beat the softmax classifier on the *test* images, and by how many
# of the 450?

# %%
mlp, hist = train_digits([32, 10])  # how many parameters? exercise 1 asks
mlp_test_acc = hist.val_acc[-1]
print(f"MLP: train accuracy {hist.train_acc[-1]:.3f}, test accuracy {mlp_test_acc:.3f}")
gained = round((mlp_test_acc - softmax_hist.val_acc[-1]) * len(y_test))
print(f"the MLP gets {gained} more of the {len(y_test)} test images right")

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
#
# **Predict:** will PyTorch's logits equal ours exactly, or only to rounding?

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
# The predicted digits are the same, and the logits differ only in the last digits: PyTorch
# adds the same products in a different order, so it rounds differently.
#
# ## From scalar nodes to matrices: what `compiled=True` runs
#
# The lecture's graph has one node per multiplication. PyTorch's `Linear` has none of that: it
# holds a weight matrix `W` and computes a whole mini-batch with one matrix product `X·Wᵀ + b`.
# The compiled replay is the bridge between the two. It traces one example's scalar graph,
# then recognises each layer in it: the neurons that read the same inputs, each adding up
# `w_ij × x_j` and a bias. Those products and sums become one matrix product; every other
# node joins the nodes of its depth that apply the same op in one numpy call.
#
# **Predict:** one example's loss graph of our 64 -> 32 -> 10 MLP has about 2,500 nodes. How
# many numpy array operations does the replay run forward for a whole mini-batch: about 2,500,
# about 100, or about 10?

# %%
from microgradnn.compile import compile_model

replay = compile_model(mlp, "cross_entropy", 64, 10)
print(replay.explain(batch=64))
first = replay.array_ops[0]
print(f"\nthe first matmul's W is {first.shape[0]}×{first.shape[1]}", end="")
if torch is not None:
    print(f"; PyTorch's first Linear holds a weight of shape {tuple(seq[0].weight.shape)}")

# %% [markdown]
# Each line is one array operation for the whole mini-batch of 64. The first layer's
# 64 × 32 = 2,048 products and 32 Σ nodes are one matrix product with a 32 × 64 weight matrix,
# exactly the shape of `weight` in PyTorch's first `Linear`; the 32 ReLUs are one call; the
# loss is a handful more. So eleven numpy calls forward stand for the 2,459 scalar nodes,
# and backward each matmul becomes the two products of the lecture's matrix backprop:
# `dX = dZ·W` and `dW = dZᵀ·X`.
#
# The picture shows the same on a model small enough to draw: each op node of one example's
# graph is coloured by the array operation it becomes (the legend numbers them in replay
# order). All six products and the three Σ of the first layer share one colour: one matmul.

# %%
from microgradnn import Value
from microgradnn.losses import mse_loss
from microgradnn.viz import draw_dot

tiny = MLP(2, [3, 1], activation="relu", seed=0)
tiny_replay = compile_model(tiny, mse_loss, 2, 1)
tiny_loss = mse_loss([tiny([Value(0.5, label="x0"), Value(-1.0, label="x1")])], [1.0])
tiny_loss.backward()
print(f"{tiny_replay.n_nodes} scalar op nodes -> {tiny_replay.n_groups} array ops "
      f"({tiny_replay.n_matmuls} matmuls)")
draw_dot(tiny_loss, compiled=tiny_replay, model=tiny, hide_constants=True, show_grad=False,
         edge_labels=False, narrow=True, fontsize=12)

# %% [markdown]
# ## The network as a function of one vector
#
# An optimizer does not see neurons. It sees one long vector θ holding every weight and bias
# (all of `mlp.parameters()`, in that order) and one function: the mean loss of
# a batch, L(θ), with its gradient ∇L(θ), one number per parameter. The replay's
# `loss_and_grad_vector(theta, X, Y)` is that function, and gradient descent becomes one line
# on arrays, `theta -= lr * grad`: what a PyTorch optimizer's `step()` does to its tensors.
#
# **Predict:** is this gradient the one `backward()` leaves in each `p.grad`, or only close to
# it? After 20 steps on one batch, is that batch's loss lower, and have the model's own
# weights moved?

# %%
theta = replay.param_vector()  # entry i is mlp.parameters()[i].data
weights_before = theta.copy()
X_batch, y_batch = X_train[:32], y_train[:32]
loss_before, grad = replay.loss_and_grad_vector(theta, X_batch, one_hot(y_batch, 10))

mlp.zero_grad()  # the same batch through the scalar engine, for comparison
batch_loss = cross_entropy_loss([mlp(list(x)) for x in X_batch], list(y_batch))
batch_loss.backward()
eager_grad = np.array([p.grad for p in mlp.parameters()])
mlp.zero_grad()
print(f"batch loss {loss_before:.6f} (backward's graph: {batch_loss.data:.6f}); largest "
      f"gradient difference {np.abs(grad - eager_grad).max():.1e}")

for _ in range(20):  # gradient descent on the vector itself
    _, grad = replay.loss_and_grad_vector(theta, X_batch, one_hot(y_batch, 10))
    theta -= 0.1 * grad
loss_after, _ = replay.loss_and_grad_vector(theta, X_batch, one_hot(y_batch, 10))
print(f"after 20 steps on theta: batch loss {loss_after:.6f}")
print("the model's own weights moved:", not np.array_equal(replay.param_vector(), weights_before))

# %% [markdown]
# The two gradients are the same numbers up to the last digits (the replay adds the same
# products in another order), the batch's loss falls, and the model's weights have not moved:
# θ is a copy, and only the vector was updated. `fit(compiled=True)` works this way: its
# parameters live in one such vector between steps, and it writes them into the Values only
# where you can look (a callback, validation, the end of the run).

# %% [markdown]
# ## Exercises
#
# Put your answer in place of `None` and run the cell; each check computes the expected answer
# afresh, so running it again gives the same verdict. Solutions are behind *Solution*.
#
# **1.** How many parameters does `MLP(64, [32, 10])` have? Count by hand (weights and biases
# of each layer).
#
# <details><summary>Solution</summary>
#
# Hidden layer: 64 × 32 weights + 32 biases = 2,080; output: 32 × 10 + 10 = 330; total 2,410.
# </details>

# %%
my_count = None

if my_count is None:
    print("Replace None by your count, then run this cell again.")
else:
    # a fresh model, so the verdict does not depend on what other cells did to `mlp`
    assert my_count == MLP(64, [32, 10]).num_parameters(), "a weight per input, plus a bias"
    print("Correct!")

# %% [markdown]
# **2.** The lecture's digits are 16 × 16 images. How many inputs would the network have, and
# how many parameters would the same MLP with 32 hidden units and 10 outputs have?
#
# <details><summary>Solution</summary>
#
# 16 × 16 = 256 inputs. Hidden layer: 256 × 32 + 32 = 8,224; output: 32 × 10 + 10 = 330;
# total 8,554. The first layer grows with the number of pixels; the rest does not.
# </details>

# %%
my_inputs = None
my_params = None

if my_inputs is None or my_params is None:
    print("Replace both None by your answers, then run this cell again.")
else:
    assert my_inputs == 16 * 16, "one input per pixel"
    assert my_params == MLP(my_inputs, [32, 10]).num_parameters(), "count each layer's w and b"
    print("Correct!")

# %% [markdown]
# **3.** Which pair of digits does the same MLP trained with **seed 1** confuse most often?
# Train it with `mlp_1, _ = train_digits([32, 10], seed=1)` (about as long as the MLP above
# took), build its confusion matrix on the test images with numpy as above, and set
# `my_pair = (true digit, predicted digit)` (hint: zero the diagonal, then
# `np.unravel_index(matrix.argmax(), matrix.shape)`). Is it the pair seed 0 confused most? When
# several pairs tie for the most mistakes, any of them counts. The check trains the seed-1
# network itself.
#
# <details><summary>Solution</summary>
#
# ```python
# mlp_1, _ = train_digits([32, 10], seed=1)
# mistakes = np.zeros((10, 10), dtype=int)
# np.add.at(mistakes, (y_test, predict(mlp_1, X_test).argmax(axis=1)), 1)
# np.fill_diagonal(mistakes, 0)
# my_pair = tuple(int(i) for i in np.unravel_index(mistakes.argmax(), mistakes.shape))
# ```
#
# For seed 1 it is `(9, 8)`, a 9 read as an 8 three times, not seed 0's 8 read as 1. With so
# few mistakes per pair, which digits a network mixes up also depends on its seed.
# </details>

# %%
my_pair = None

if my_pair is None:
    print("Replace None by your (true, predicted) pair, then run this cell again.")
else:
    true, predicted = my_pair
    assert true != predicted, "a mistake has a true digit different from the predicted one"
    # the seed-1 network trained afresh: the same weights, and verdict, every run
    seed_1_model, _ = train_digits([32, 10], seed=1)
    fresh = np.zeros((10, 10), dtype=int)
    np.add.at(fresh, (y_test, predict(seed_1_model, X_test).argmax(axis=1)), 1)
    np.fill_diagonal(fresh, 0)
    assert fresh[true, predicted] == fresh.max(), (
        f"not yet: {true} -> {predicted} happens {fresh[true, predicted]} times, "
        f"the most is {fresh.max()}"
    )
    print(f"Correct! {true} was read as {predicted} {fresh.max()} times.")

# %% [markdown]
# **4.** A wider network: train 64 hidden units with `train_digits([64, 10])`. Does it beat
# the 32-unit MLP's test accuracy (`mlp_test_acc`, seed 0)? Set `my_wider_is_better` to `True`
# or `False`. The check trains the wider network itself (about as long as the MLP took) and
# prints both networks' train and test accuracies.
#
# <details><summary>Solution</summary>
#
# ```python
# wider, wider_hist = train_digits([64, 10])
# my_wider_is_better = wider_hist.val_acc[-1] > mlp_test_acc
# ```
#
# For seed 0 it is `True`, by 6 test images (test accuracy 0.973 against 0.960). Both fit
# the training images almost perfectly, so the test accuracy is where they differ. But 6
# images out of 450 is about what another seed changes: the 32-unit MLP itself gets 0.971 with
# seed 2. Try `train_digits([64, 10], seed=1)` and `train_digits([32, 10], seed=1)` before
# concluding that wider is better.
# </details>

# %%
my_wider_is_better = None

if my_wider_is_better is None:
    print("Replace None by True or False, then run this cell again.")
else:
    _, wider_hist = train_digits([64, 10])  # trained afresh: the same result every run
    print(f"32 hidden units: train {hist.train_acc[-1]:.3f}, test {mlp_test_acc:.3f}")
    print(f"64 hidden units: train {wider_hist.train_acc[-1]:.3f}, "
          f"test {wider_hist.val_acc[-1]:.3f}")
    expected = bool(wider_hist.val_acc[-1] > mlp_test_acc)
    assert my_wider_is_better == expected, "not yet: compare the two test accuracies"
    print("Correct!")

# %% [markdown]
# ## Summary
#
# - An image is a vector of pixels (64 here, 256 in the lecture) and a label a one-hot vector
#   of 10; softmax on 10 logits with cross-entropy is the classifier's loss.
# - A softmax classifier (one linear layer) already reads most test digits; one hidden layer of
#   32 ReLUs reads more of them.
# - Compiled training replays one example's graph over a whole mini-batch with numpy: the same
#   gradients, many times faster than the scalar engine.
# - The confusion matrix and the misclassified images show *which* digits the model mixes up.
# - `to_torch()` gives the same network in PyTorch, with the same predictions.
# - The compiled replay turns each layer's products and sums into one matrix product, the
#   `X·Wᵀ + b` of PyTorch's `Linear`: `explain()` and `draw_dot(..., compiled=...)` show which
#   scalar nodes become which array operation.
# - To an optimizer the network is one function of one vector, L(θ): `loss_and_grad_vector`
#   gives the batch's loss and its gradient (the numbers `backward()` gives), and a step of
#   gradient descent is `theta -= lr * grad`.
