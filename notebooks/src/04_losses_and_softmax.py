"""Notebook 4: losses and softmax (source of 04_losses_and_softmax.ipynb)."""

# %% [markdown]
# # 4. Losses and softmax
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
# target*: `dCE/dz_i = p_i - t_i`. Check it with `backward()`:

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

# %%
for x in (-3.0, -0.5, 0.0, 1.0, 4.0):
    p = softmax([Value(x), Value(0.0)])
    s = Value(x).sigmoid().data
    print(f"x = {x:+.1f}: softmax = [{p[0].data:.6f}, {p[1].data:.6f}]   "
          f"[sigmoid, 1 - sigmoid] = [{s:.6f}, {1 - s:.6f}]")
    assert math.isclose(p[0].data, s) and math.isclose(p[1].data, 1 - s, abs_tol=1e-15)

# %% [markdown]
# ## Why the naive formula breaks, and the fused one does not
#
# Computers store numbers with a limited range (the first line below), so `e^x` overflows to
# infinity for large `x`, and underflows to 0 for very negative `x`. Such logits appear easily
# when a network is very sure of itself. Follow the naive recipe, *exponentiate, divide, take
# the log*, on the logits `[1000, 0]` with the true class 1:

# %%
import sys

print(f"largest float: {sys.float_info.max:.4g}, so e^x = inf from x = "
      f"{math.log(sys.float_info.max):.2f} on")
z = values([1000.0, 0.0])
exps = [v.exp() for v in z]
total = exps[0] + exps[1]
naive_p = [e / total for e in exps]
naive_loss = -naive_p[1].log()
naive_loss.backward()
print("exp(z):     ", [e.data for e in exps])
print("naive p:    ", [p.data for p in naive_p])
print("naive loss: ", naive_loss.data)
print("naive grads:", [v.grad for v in z])

# %% [markdown]
# `e^1000` is `inf`, and `inf / inf` is `nan` ("not a number"): the probability, the loss and
# every gradient are destroyed, and one `nan` spreads to every weight at the next update.
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
z = values([1000.0, 0.0])
loss = cross_entropy_loss([z], [1])
loss.backward()
print("logsumexp:  ", logsumexp(z).data)
print("log_softmax:", [v.data for v in log_softmax(z)])
print("fused loss: ", loss.data)
print("fused grads:", [v.grad for v in z])

# %% [markdown]
# The loss is 1000 (very wrong, as it should be) and the gradients are finite: `p - t`.
#
# The binary case has the same trap: a sigmoid that rounds to exactly 1.0 makes `log(1 - p)`
# infinite. `bce_loss` takes probabilities and clamps them away from 0 and 1, which keeps the
# numbers finite but *cuts off* the gradient; `bce_with_logits_loss` takes the logit and uses
# the stable `softplus` form `log(1 + e^z)`, which stays exact.

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
# ## Exercises
#
# **1.** The logits are `[0, 0, 0, 0]` (a model that knows nothing) over 4 classes. What is
# the cross-entropy for any target? Check below.
#
# <details><summary>Solution</summary>
#
# Softmax gives each class 1/4, so the loss is `-log(1/4) = log 4`, about 1.386. An untrained
# K-class classifier should start near `log K`; much more means it is confidently wrong.
# </details>

# %%
my_answer = None
if my_answer is None:
    print("Fill in my_answer, then run this cell again.")
else:
    expected = cross_entropy_loss([values([0, 0, 0, 0])], [2]).data
    assert math.isclose(my_answer, expected, rel_tol=1e-3), "softmax of equal logits is uniform"
    print("Correct!")

# %% [markdown]
# **2.** For the hinge loss with label `y = +1`, what is the gradient `d loss / d f` at
# `f = 0.5` and at `f = 2`? Predict, then check with `hinge_loss(Value(f), 1)` and
# `backward()`.
#
# <details><summary>Solution</summary>
#
# `max(0, 1 - f)`: at `f = 0.5` the loss is `1 - f`, slope -1; at `f = 2` the loss is 0, flat,
# slope 0. Examples beyond the margin stop contributing to learning.
# </details>
