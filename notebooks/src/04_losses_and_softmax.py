"""Notebook 4: losses and softmax (source of 04_losses_and_softmax.ipynb)."""

# %% [markdown]
# # 4. Losses and softmax
#
# *Lectures: the losses of Introduction to deep learning (lecture 1: MSE, binary and
# categorical cross-entropy) and of Neural network basics (lecture 2: square, hinge, logistic,
# cross-entropy); softmax and the numerically stable softmax + cross-entropy of Shallow networks
# (lecture 3).*
#
# **Goal:** compute each loss by hand, and see why cross-entropy must be computed from logits
# in the fused log-sum-exp form.
#
# A **loss** turns "how wrong is the model?" into one number that gradient descent can push
# down. Which loss fits depends on what the model predicts: a number (regression), a yes/no
# (binary classification) or one of K classes. This notebook computes each loss by hand,
# compares with `microgradnn.losses`, and shows why the *way* a loss is computed matters.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from microgradnn import Value
from microgradnn.losses import (
    bce_loss,
    bce_with_logits_loss,
    cross_entropy_loss,
    hinge_loss,
    logistic_loss,
    mse_loss,
)
from microgradnn.nn import log_softmax, logsumexp, softmax

plt.rcParams["figure.dpi"] = 80


def values(numbers):
    return [Value(v) for v in numbers]


# %% [markdown]
# ## Regression: mean squared error
#
# $$\mathrm{MSE} = \frac{1}{N}\sum_n (\hat y_n - y_n)^2$$

# %%
preds, targets = [2.5, 0.0, 2.0], [3.0, -0.5, 2.0]
by_hand = sum((p - t) ** 2 for p, t in zip(preds, targets)) / len(preds)
loss = mse_loss(values(preds), targets)
print(f"by hand {by_hand:.6f}, mse_loss {loss.data:.6f}")
assert math.isclose(by_hand, loss.data)

# %% [markdown]
# ## Binary classification: cross-entropy
#
# The model outputs a probability `p` that the label is 1 (usually `p = sigmoid(z)` of a score
# `z`, the **logit**). Binary cross-entropy punishes a confident wrong answer without limit:
#
# $$\mathrm{BCE} = -\,y\log p - (1 - y)\log(1 - p)$$

# %%
probs, labels = [0.9, 0.2, 0.6], [1, 0, 0]
by_hand = -np.mean([y * math.log(p) + (1 - y) * math.log(1 - p) for p, y in zip(probs, labels)])
loss = bce_loss(values(probs), labels)
print(f"by hand {by_hand:.6f}, bce_loss {loss.data:.6f}")
assert math.isclose(by_hand, loss.data)

# %% [markdown]
# With labels written as `y = -1` or `+1` instead, all the classification losses become
# functions of one number, the **margin** `y f(x)`: positive when the score has the right sign,
# large when it is confidently right.
#
# - 0-1 loss (count the mistakes): `1 if y f <= 0 else 0`; its gradient is 0: useless to learn;
# - **hinge** (SVM): `max(0, 1 - y f)`; zero once the margin exceeds 1;
# - **logistic**: `log(1 + e^(-y f))`, the binary cross-entropy of `sigmoid(f)` written with
#   ±1 labels;
# - **square**: `(1 - y f)^2` (MSE on ±1 labels), which also punishes being *too* right.

# %%
margins = np.linspace(-2.5, 2.5, 101)
curves = {
    "0-1": [float(m <= 0) for m in margins],
    "hinge": [hinge_loss(Value(m), 1).data for m in margins],
    "logistic": [logistic_loss(Value(m), 1).data for m in margins],
    "square": [(1 - m) ** 2 for m in margins],
}
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, curve in curves.items():
    ax.plot(margins, curve, label=name)
ax.set_ylim(-0.1, 4)
ax.set_xlabel("margin y f(x)")
ax.set_ylabel("loss")
ax.legend()
plt.show()

# %% [markdown]
# ## K classes: softmax and categorical cross-entropy
#
# For K classes the model outputs K scores (logits) `z_1 ... z_K`. **Softmax** turns them into
# probabilities, positive and summing to 1:
#
# $$\mathrm{softmax}(z)_i = \frac{e^{z_i}}{\sum_j e^{z_j}}$$
#
# and categorical cross-entropy is `-log` of the probability given to the true class (with a
# one-hot target `t`, `-sum_i t_i log p_i`).

# %%
logits = values([2.0, 1.0, 0.1])
probs = softmax(logits)
print("softmax:", [round(p.data, 4) for p in probs], "sum:", sum(p.data for p in probs))
target = 0
loss = cross_entropy_loss([logits], [target])
print(f"-log p[{target}] = {-math.log(probs[target].data):.6f}, cross_entropy_loss {loss.data:.6f}")
assert math.isclose(-math.log(probs[target].data), loss.data)

# %% [markdown]
# Its gradient with respect to the logits is remarkably simple, *probabilities minus one-hot
# target*: `dCE/dz_i = p_i - t_i`. Check it with `backward()`.
#
# **Predict:** which logit's gradient is negative (so that gradient descent raises it)?

# %%
loss.backward()
one_hot = [1.0 if i == target else 0.0 for i in range(3)]
for z, p, t in zip(logits, probs, one_hot):
    print(f"dCE/dz = {z.grad:+.6f}   p - t = {p.data - t:+.6f}")
    assert math.isclose(z.grad, p.data - t, abs_tol=1e-12)

# %% [markdown]
# ## Softmax generalises the sigmoid
#
# With two classes and logits `[x, 0]`, softmax gives `[e^x / (e^x + 1), 1 / (e^x + 1)]`, which
# is exactly `[sigmoid(x), 1 - sigmoid(x)]`. So a sigmoid output is a two-class softmax with
# one logit fixed at 0.
#
# **Predict:** computed in floating point, do the two agree to every digit, or only to a few?


# %%
def softmax_vs_sigmoid(xs):
    """Largest |softmax([x, 0]) - [sigmoid(x), 1 - sigmoid(x)]| over the xs."""
    worst = 0.0
    for x in xs:
        p = softmax([Value(x), Value(0.0)])
        s = Value(x).sigmoid().data
        worst = max(worst, abs(p[0].data - s), abs(p[1].data - (1 - s)))
    return worst


for x in (-3.0, -0.5, 0.0, 1.0, 4.0):
    p = softmax([Value(x), Value(0.0)])
    s = Value(x).sigmoid().data
    print(f"x = {x:+.1f}: softmax = [{p[0].data:.6f}, {p[1].data:.6f}]   "
          f"[sigmoid, 1 - sigmoid] = [{s:.6f}, {1 - s:.6f}]")
print(f"largest difference at these x: {softmax_vs_sigmoid([-3.0, -0.5, 0.0, 1.0, 4.0]):.1e}")

# %% [markdown]
# The largest difference is the rounding of a single floating-point operation (about 1e-16):
# the identity is exact.
#
# ## Why the naive formula breaks, and the fused one does not
#
# Computers store numbers with a limited range (the first line below), so `e^x` overflows to
# infinity for large `x`, and underflows to 0 for very negative `x`. Such logits appear easily
# when a network is very sure of itself. Follow the naive recipe, *exponentiate, divide, take
# the log*, on the logits `[1000, 0]` with the true class 1. (The true loss is 1000: the
# model gives the true class a probability of about `e^-1000`.)
#
# **Predict:** what will the naive loss and its gradients print?

# %%
import sys


def naive_cross_entropy(logits, target):
    """-log softmax(z)[target] the naive way: exponentiate, divide, take the log."""
    z = values(logits)
    exps = [v.exp() for v in z]
    total = Value.sum(exps)
    probs = [e / total for e in exps]
    loss = -probs[target].log()
    loss.backward()
    return {"exps": [e.data for e in exps], "probs": [p.data for p in probs],
            "loss": loss.data, "grads": [v.grad for v in z]}


print(f"largest float: {sys.float_info.max:.4g}, so e^x = inf from x = "
      f"{math.log(sys.float_info.max):.2f} on")
naive = naive_cross_entropy([1000.0, 0.0], 1)
print("exp(z):     ", naive["exps"])
print("naive p:    ", naive["probs"])
print("naive loss: ", naive["loss"])
print("naive grads:", naive["grads"])

# %% [markdown]
# `e^1000` is `inf`, and `inf / inf` is `nan` ("not a number"): the first probability is
# `nan`, the second, `1 / inf`, is exactly 0 (floating point defines it so), so the loss is
# `-log 0 = inf` instead of 1000, and
# both gradients are `nan`. One `nan` spreads to every weight at the next update.
#
# The cure is algebra. Subtracting the largest logit `m` changes nothing mathematically but
# keeps every exponent at most 0, and taking the log *before* dividing avoids computing a
# probability that rounds to 0:
#
# $$-\log \mathrm{softmax}(z)_t = -\Big(z_t - \underbrace{\big(m + \log \textstyle\sum_j
# e^{z_j - m}\big)}_{\mathrm{logsumexp}(z)}\Big)$$
#
# `cross_entropy_loss` works on logits in this fused form (as does `log_softmax`):


# %%
def fused_cross_entropy(logits, target):
    """-log softmax(z)[target] from logits, by cross_entropy_loss (log-sum-exp inside)."""
    z = values(logits)
    loss = cross_entropy_loss([z], [target])
    loss.backward()
    return {"logsumexp": logsumexp(values(logits)).data, "loss": loss.data,
            "grads": [v.grad for v in z]}


fused = fused_cross_entropy([1000.0, 0.0], 1)
print("logsumexp:  ", fused["logsumexp"])
print("log_softmax:", [v.data for v in log_softmax(values([1000.0, 0.0]))])
print("fused loss: ", fused["loss"])
print("fused grads:", fused["grads"])
small = [2.0, 1.0, 0.1]
by_naive, by_fused = naive_cross_entropy(small, 0)["loss"], fused_cross_entropy(small, 0)["loss"]
print(f"at the logits {small}: naive loss {by_naive:.12f}, fused loss {by_fused:.12f} "
      f"(difference {abs(by_naive - by_fused):.0e})")

# %% [markdown]
# The loss is 1000 (very wrong, as it should be) and the gradients are finite: `p - t`, here
# `[1 - 0, 0 - 1]`. At ordinary logits (the last line) the two recipes give the same loss up to
# rounding: the fused form is the same mathematics, computed in an order that cannot overflow.
#
# The binary case has the same trap: a sigmoid that rounds to exactly 1.0 makes `log(1 - p)`
# infinite. `bce_loss` takes probabilities and clamps them away from 0 and 1, which keeps the
# numbers finite but *cuts off* the gradient; `bce_with_logits_loss` takes the logit and uses
# the stable `softplus` form `log(1 + e^z)`, which stays exact.
#
# **Predict:** at the logit 40 with the label 0 (very wrong), what gradient does each give?

# %%
for logit in (5.0, 40.0):
    z = Value(logit)
    clamped = bce_loss(z.sigmoid(), 0)
    clamped.backward()
    g_clamped = z.grad
    z.grad = 0.0
    fused = bce_with_logits_loss(z, 0)
    fused.backward()
    print(f"logit {logit:>4}: sigmoid = {z.sigmoid().data!r}")
    print(f"   bce_loss(sigmoid(z), 0)  = {clamped.data:.6g}, d/dz = {g_clamped:.6g}")
    print(f"   bce_with_logits_loss(z, 0) = {fused.data:.6g}, d/dz = {z.grad:.6g}")

# %% [markdown]
# For a label 0 the exact loss is `softplus(z)`, about `z` when `z` is large, with gradient
# `sigmoid(z)`, about 1. The logits version gets both right; the clamped one gets neither once
# the sigmoid rounds to 1. Rule of thumb: **let the model output logits, and use the loss
# that takes logits.**
#
# ## The lecture's Keras slide, as written
#
# The Shallow networks lecture builds a classifier with one hidden layer in Keras: `Dense` is a
# layer of neurons (z = W x + b), `Activation` applies a function to each of its outputs, and
# the last one, softmax, turns the K scores into probabilities. microgradnn has the same three
# names, so the slide's five lines run unchanged (with N inputs, H hidden units, K classes):

# %%
import random

from microgradnn import Activation, Dense, Sequential, evaluate, fit
from microgradnn.data import make_blobs

N, H, K = 2, 8, 3
random.seed(0)  # the layers draw their weights from Python's random, as micrograd's do

model = Sequential()
model.add(Dense(H, input_dim=N)) # weight matrix dim [N * H]
model.add(Activation("tanh"))
model.add(Dense(K)) # weight matrix dim [H x K]
model.add(Activation("softmax"))

print(model)
print(f"parameters: {model.num_parameters()} = {N}×{H} + {H} + {H}×{K} + {K}")
print("outputs for x = [0, 0]:", [round(p.data, 4) for p in model([0.0, 0.0])])

# %% [markdown]
# The second `Dense` was not told its number of inputs: it read H from the layer before. Its
# outputs are already probabilities, so the loss to train it with is the cross-entropy **on
# probabilities**, `-log p` of the true class (Keras calls it `categorical_crossentropy`).
#
# **Predict:** on three blobs of 50 points each, where does the untrained model's accuracy
# start, and where will 40 epochs of training take it?


# %%
def train_and_score(model, epochs=40):
    """Loss and accuracy on the three blobs before and after training with Adam."""
    X, y = make_blobs(n=150, centers=3, seed=0)
    before = evaluate(model, X, y, loss="categorical_crossentropy")
    fit(model, X, y, loss="categorical_crossentropy", optimizer="adam", lr=0.05,
        epochs=epochs, batch_size=32, progress=False)
    after = evaluate(model, X, y, loss="categorical_crossentropy")
    return {"before": before, "after": after}


scores = train_and_score(model)
print(f"before training: loss {scores['before']['loss']:.3f}, "
      f"accuracy {scores['before']['acc']:.2f}")
print(f"after 40 epochs: loss {scores['after']['loss']:.3f}, "
      f"accuracy {scores['after']['acc']:.2f}")

# %% [markdown]
# Untrained, the model is right on about a third of the points, chance for three classes;
# trained, it separates the three blobs and its loss is close to 0.
#
# ## Softmax twice: the mistake `fit` refuses
#
# Above we recommended `cross_entropy_loss`, which takes **logits** and applies softmax itself.
# On this model, whose outputs are already probabilities, it would apply softmax a second time.
# **Predict:** for a model that is certain and right (probabilities `[1, 0, 0]`, class 0), what
# would that doubled loss be?

# %%
import textwrap

floor = cross_entropy_loss([values([1.0, 0.0, 0.0])], [0]).data
print(f"softmax of [1, 0, 0], then -log p[0]: {floor:.4f} "
      f"(= log(1 + 2/e) = {math.log(1 + 2 / math.e):.4f}), never 0")
try:
    fit(model, *make_blobs(n=150, centers=3, seed=0), loss="cross_entropy", progress=False)
except ValueError as err:
    print(textwrap.fill(f"fit refused: {err}", 100))

# %% [markdown]
# Even a perfect model would keep a loss of 0.55, and the gradients shrink with it, so
# training crawls. `fit` reads the model's structure (its last layer is a softmax, and the
# loss applies softmax) and refuses before any step, naming the two fixes. The first is the
# loss on probabilities, used above; the second keeps the stable loss on logits and drops the
# softmax layer, the rule of thumb of this notebook:

# %%
random.seed(0)
logits_model = Sequential([Dense(H, input_dim=N), Activation("tanh"), Dense(K)])
X3, y3 = make_blobs(n=150, centers=3, seed=0)
fit(logits_model, X3, y3, loss="cross_entropy", optimizer="adam", lr=0.05, epochs=40,
    batch_size=32, progress=False)
on_logits = evaluate(logits_model, X3, y3, loss="cross_entropy")
print(f"without the final softmax, cross_entropy on logits: loss {on_logits['loss']:.3f}, "
      f"accuracy {on_logits['acc']:.2f}")
gap = abs(on_logits["loss"] - scores["after"]["loss"])
print(f"difference from the slide's model after training: {gap:.1e}")

# %% [markdown]
# The same seed draws the same weights, and `-log softmax(z)` is one number whether softmax
# sits in the model or in the loss, so the two models train alike, to rounding. What differs
# is where softmax is computed: fused with the log inside the loss, it cannot overflow.
#
# ## Exercises
#
# Put your answer in place of `None` and run the cell; each check computes the expected answer
# afresh, so running it again gives the same verdict. Solutions are behind *Solution*.
#
# **1.** The logits are `[0, 0, 0, 0]` (a model that knows nothing) over 4 classes. What is
# the cross-entropy for any target? (Three decimals are enough.)
#
# <details><summary>Solution</summary>
#
# Softmax gives each class 1/4, so the loss is `-log(1/4) = log 4`, about 1.386. An untrained
# K-class classifier should start near `log K`; much more means it is confidently wrong.
# </details>

# %%
my_answer = None

if my_answer is None:
    print("Replace None by your answer, then run this cell again.")
else:
    for target in range(4):
        expected = cross_entropy_loss([values([0, 0, 0, 0])], [target]).data
        assert math.isclose(my_answer, expected, rel_tol=1e-3), (
            "not yet: what probabilities does softmax give 4 equal logits?"
        )
    print("Correct!")

# %% [markdown]
# **2.** For the hinge loss with label `y = -1`, what is the gradient `d loss / d f` (with
# respect to the score `f`, not the margin) at `f = 0.5` and at `f = -2`? Predict both; the
# check computes them with `hinge_loss(Value(f), -1)` and `backward()`.
#
# <details><summary>Solution</summary>
#
# With `y = -1` the margin is `-f` and the loss `max(0, 1 + f)`: at `f = 0.5` it is `1 + f`,
# slope +1 (gradient descent lowers `f`, towards the label's sign); at `f = -2` the margin is
# 2, beyond 1, so the loss is 0, flat, slope 0. Examples beyond the margin stop contributing to
# learning.
# </details>

# %%
my_slope_at_half = None
my_slope_at_minus_two = None

if my_slope_at_half is None or my_slope_at_minus_two is None:
    print("Replace both None by your answers, then run this cell again.")
else:
    for f, mine in ((0.5, my_slope_at_half), (-2.0, my_slope_at_minus_two)):
        score = Value(f)  # a fresh Value each run: its grad starts at 0
        hinge_loss(score, -1).backward()
        assert math.isclose(mine, score.grad, abs_tol=1e-9), f"not yet at f = {f}"
    print("Correct!")

# %% [markdown]
# **3.** Write the stable log-sum-exp yourself, on plain floats: `my_logsumexp(zs)` should
# return `log(e^z_1 + ... + e^z_K)` without overflowing, using the identity above (subtract the
# largest `z` first). The check compares it with `logsumexp` on small, huge and very negative
# logits. (Python's `math.exp(1000)` raises `OverflowError` rather than returning `inf`, and
# `math.log(0)` raises `ValueError`.)
#
# <details><summary>Solution</summary>
#
# ```python
# def my_logsumexp(zs):
#     m = max(zs)
#     return m + math.log(sum(math.exp(z - m) for z in zs))
# ```
#
# Every `z - m` is at most 0, so each `e^(z - m)` lies in (0, 1] and the sum is between 1 and
# K: nothing overflows, and the log of the sum is never `log 0` (the naive
# `math.log(sum(math.exp(z) for z in zs))` fails both ways: `e^1000` overflows, and
# `e^-1000 + e^-1001` rounds to 0).
# </details>


# %%
def my_logsumexp(zs):
    """log(sum_j e^z_j) for a list of floats, without overflow."""
    return None  # your code here


def logsumexp_errors(fn):
    """|fn(zs) - logsumexp(zs)| on a few test cases (None: fn raised a math error)."""
    cases = ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0], [1000.0, 0.0], [-1000.0, -1001.0])
    errors = []
    for zs in cases:
        try:
            errors.append(abs(fn(zs) - logsumexp(values(zs)).data))
        except (OverflowError, ValueError):  # e^1000, or the log of a sum that rounded to 0
            errors.append(None)
    return errors


if my_logsumexp([0.0]) is None:
    print("Replace None by your code, then run this cell again.")
else:
    errors = logsumexp_errors(my_logsumexp)
    assert None not in errors, "not yet: e^z over- or underflowed; subtract the largest z first"
    assert max(errors) < 1e-9, f"not yet: your values are off by up to {max(errors):.3g}"
    print("Correct!")

# %% [markdown]
# ## Summary
#
# - Regression uses the mean squared error; binary classification the binary cross-entropy of
#   a probability; with ±1 labels the hinge, logistic and square losses are functions of the
#   margin `y f(x)`.
# - Softmax turns K logits into probabilities; categorical cross-entropy is `-log` of the true
#   class's probability, and its gradient with respect to the logits is `p - t`.
# - Softmax of `[x, 0]` is `[sigmoid(x), 1 - sigmoid(x)]`: the sigmoid is two-class softmax.
# - The lecture's Keras slide runs as written (`Sequential`, `Dense`, `Activation`); a model
#   that ends in softmax takes the loss on probabilities (`categorical_crossentropy`), and
#   `fit` refuses the loss on logits for it, which would apply softmax twice.
# - Computed naively, the cross-entropy of the logits `[1000, 0]` is `inf` with `nan`
#   gradients; the fused log-sum-exp form gives the true loss, 1000, and the gradients `p - t`.
#   Clamping probabilities keeps the loss finite but can kill its gradient: feed logits to a
#   loss that takes logits.
