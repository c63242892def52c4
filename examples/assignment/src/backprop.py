"""Assignment source: backprop by hand (built into ../backprop.ipynb and ../otter/backprop.ipynb).

Cells carry nbgrader's metadata (``nbgrader={...}``); ``### BEGIN SOLUTION`` / ``### END
SOLUTION`` mark what the student writes, ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``
the tests students do not see. The hidden tests compare with central differences computed when
they run, so their text holds no answer. ``python examples/assignment/build.py`` writes both
notebooks from this file.
"""

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Backprop by hand
#
# You will work out the gradients of a tiny neuron, first as numbers and then as code, with the
# chain rule. Fill in every cell that says `YOUR CODE HERE`, then run the whole notebook
# (*Kernel > Restart & Run All*) before you submit: the cells marked as tests check the form of
# your answers; more tests run when your work is graded.
#
# The graph: $n = w \cdot x + b$, $o = \tanh(n)$, with $w = 0.5$, $x = -1.5$, $b = 0.25$.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

from microgradnn import Value
from microgradnn.viz import draw_dot

w = Value(0.5, label="w")
x = Value(-1.5, label="x")
b = Value(0.25, label="b")
n = w * x + b
n.label = "n"
o = n.tanh()
o.label = "o"
draw_dot(o)

# %% [markdown] nbgrader={"grade": false, "grade_id": "q1_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Question 1: the gradients as numbers (2 points)
#
# Fill in `answers` with each Value's grad, $\partial o / \partial \text{value}$, as a number
# (a formula of numbers is fine). The keys are the names in the picture: `"n"`, `"b"`,
# `"w*x"`, `"x"`, `"w"`. Start at `o` (its grad is 1) and go backward. Two decimals are enough.

# %% nbgrader={"grade": false, "grade_id": "q1_answers", "locked": false, "schema_version": 3, "solution": true, "task": false}
answers = {}
### BEGIN SOLUTION
out = math.tanh(0.5 * -1.5 + 0.25)
answers["n"] = 1 - out**2
answers["b"] = answers["n"]
answers["w*x"] = answers["n"]
answers["x"] = 0.5 * answers["w*x"]
answers["w"] = -1.5 * answers["w*x"]
### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "q1_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def test_q1_form(answers):
    assert sorted(answers) == ["b", "n", "w", "w*x", "x"], "answers needs keys n, b, w*x, x, w"
    assert all(isinstance(v, (int, float)) for v in answers.values()), "each answer is a number"


test_q1_form(answers)


### BEGIN HIDDEN TESTS
def test_q1_by_finite_differences(answers):
    import math

    def forward(w, x, b, wx_shift=0.0, n_shift=0.0):
        return math.tanh(w * x + wx_shift + b + n_shift)

    point = {"w": 0.5, "x": -1.5, "b": 0.25, "wx_shift": 0.0, "n_shift": 0.0}
    names = {"w": "w", "x": "x", "b": "b", "w*x": "wx_shift", "n": "n_shift"}
    h = 1e-6
    for name, arg in names.items():
        hi = dict(point, **{arg: point[arg] + h})
        lo = dict(point, **{arg: point[arg] - h})
        numeric = (forward(**hi) - forward(**lo)) / (2 * h)
        assert abs(answers[name] - numeric) <= 0.005 + 0.01 * abs(numeric), f"{name} is wrong"


test_q1_by_finite_differences(answers)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "q2_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Question 2: the backward pass as code (3 points)
#
# Write `neuron_backward(w1, x1, w2, x2, b)` for $o = \tanh(w_1 x_1 + w_2 x_2 + b)$ on plain
# floats: return a dict of $\partial o / \partial$ each input, keys `"w1"`, `"x1"`, `"w2"`,
# `"x2"`, `"b"`. Use the chain rule (math.tanh is allowed; microgradnn's `backward()` is not the
# point here). The tests try your function at many points.


# %% nbgrader={"grade": false, "grade_id": "q2_code", "locked": false, "schema_version": 3, "solution": true, "task": false}
def neuron_backward(w1, x1, w2, x2, b):
    """The gradient of tanh(w1*x1 + w2*x2 + b) with respect to each input."""
    ### BEGIN SOLUTION
    out = math.tanh(w1 * x1 + w2 * x2 + b)
    dn = 1 - out**2
    return {"w1": x1 * dn, "x1": w1 * dn, "w2": x2 * dn, "x2": w2 * dn, "b": dn}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "q2_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def test_q2_form(neuron_backward):
    grads = neuron_backward(1.0, 2.0, -1.0, 0.5, 0.0)
    assert sorted(grads) == ["b", "w1", "w2", "x1", "x2"], "return a dict: w1 x1 w2 x2 b"


test_q2_form(neuron_backward)


### BEGIN HIDDEN TESTS
def test_q2_by_finite_differences(neuron_backward):
    import math
    import random

    def forward(w1, x1, w2, x2, b):
        return math.tanh(w1 * x1 + w2 * x2 + b)

    rng = random.Random(2024)
    h = 1e-6
    for _ in range(25):
        point = {k: rng.uniform(-2, 2) for k in ("w1", "x1", "w2", "x2", "b")}
        grads = neuron_backward(**point)
        for k in point:
            hi = dict(point, **{k: point[k] + h})
            lo = dict(point, **{k: point[k] - h})
            numeric = (forward(**hi) - forward(**lo)) / (2 * h)
            assert abs(grads[k] - numeric) <= 1e-6 + 1e-4 * abs(numeric), f"d/d{k} at {point}"


test_q2_by_finite_differences(neuron_backward)
### END HIDDEN TESTS
