# X (capital) is the data matrix, as in the math and in scikit-learn.
# ruff: noqa: N806

import itertools
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradnn import data
from microgradnn.data import (
    batches,
    load_digits,
    make_and,
    make_blobs,
    make_circles,
    make_moons,
    make_or,
    make_regression_1d,
    make_spirals,
    make_xor,
    one_hot,
    piecewise_linear,
    to_pm1,
    train_test_split,
)

GENERATORS = {
    "moons": make_moons,
    "circles": make_circles,
    "spirals": make_spirals,
    "blobs": make_blobs,
    "regression_1d": make_regression_1d,
}


# -- logic gates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "op"),
    [(make_xor, lambda a, b: a ^ b), (make_and, lambda a, b: a & b), (make_or, lambda a, b: a | b)],
)
def test_truth_tables_match_python_bit_operators(make, op):
    X, y = make()
    assert X.dtype == np.float64
    assert X.shape == (4, 2)
    assert y.dtype == np.int64
    for (a, b), label in zip(X.astype(int).tolist(), y.tolist(), strict=True):
        assert label == op(a, b)


def test_truth_tables_are_fresh_copies():
    X, _ = make_xor()
    X[0, 0] = 99.0
    assert make_xor()[0][0, 0] == 0.0


# -- shapes, dtypes, determinism, common to all generators -----------------------------------


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_return_float_x_and_n_rows(name):
    X, y = GENERATORS[name](n=37, seed=3)
    assert X.dtype == np.float64
    assert X.ndim == 2
    assert X.shape[0] == 37
    assert y.shape == (37,)
    assert X.flags.c_contiguous


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_same_bits_other_seed_other_points(name):
    X1, y1 = GENERATORS[name](n=50, seed=7)
    X2, y2 = GENERATORS[name](n=50, seed=7)
    X3, _ = GENERATORS[name](n=50, seed=8)
    assert X1.tobytes() == X2.tobytes()
    assert y1.tobytes() == y2.tobytes()
    assert X1.tobytes() != X3.tobytes()


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "blobs"])
def test_classification_labels_are_int64_from_zero(name):
    _, y = GENERATORS[name](n=60, seed=0)
    assert y.dtype == np.int64
    assert y.min() == 0
    assert np.array_equal(np.unique(y), np.arange(y.max() + 1))


@pytest.mark.parametrize("name", sorted(GENERATORS))
@pytest.mark.parametrize("n", [0, -1])
def test_generators_reject_bad_n(name, n):
    with pytest.raises(ValueError, match=f"n: expected an integer >= 1, got {n}"):
        GENERATORS[name](n=n)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_reject_non_int_n_and_seed(name):
    with pytest.raises(TypeError, match="n: expected an integer >= 1, got float"):
        GENERATORS[name](n=10.5)
    with pytest.raises(TypeError, match="seed: expected an integer, got str"):
        GENERATORS[name](n=10, seed="x")


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "regression_1d"])
def test_generators_reject_negative_noise(name):
    with pytest.raises(ValueError, match=r"noise: expected a number >= 0, got -0\.1"):
        GENERATORS[name](noise=-0.1)


# -- two moons against scikit-learn's geometry ------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 7, 100, 201])
def test_moons_without_noise_equal_sklearn(n):
    sk = pytest.importorskip("sklearn.datasets")
    X, y = make_moons(n=n, noise=0.0, shuffle=False)
    X_sk, y_sk = sk.make_moons(n_samples=n, noise=None, shuffle=False)
    np.testing.assert_allclose(X, X_sk, rtol=0, atol=1e-15)
    assert np.array_equal(y, y_sk)


def test_moons_shuffled_is_a_permutation_of_the_arcs():
    X, y = make_moons(n=40, noise=0.0, seed=1)
    X0, y0 = make_moons(n=40, noise=0.0, shuffle=False)
    assert not np.array_equal(y, y0)
    key = np.lexsort((X[:, 1], X[:, 0]))
    key0 = np.lexsort((X0[:, 1], X0[:, 0]))
    np.testing.assert_array_equal(X[key], X0[key0])
    np.testing.assert_array_equal(y[key], y0[key0])


def test_moons_closed_form_arcs():
    X, y = make_moons(n=200, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-12)
    assert upper[:, 1].min() >= -1e-12
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert lower[:, 1].max() <= 0.5 + 1e-12


def test_moons_noise_has_the_requested_standard_deviation():
    X, y = make_moons(n=20000, noise=0.1, seed=0)
    upper = X[y == 0]
    radial = np.hypot(upper[:, 0], upper[:, 1]) - 1.0
    # The radial residual of points on a unit arc is close to the noise's std (curvature is tiny).
    assert abs(radial.std() - 0.1) < 0.005


# -- circles, spirals, blobs ------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 9, 100])
def test_circles_without_noise_equal_sklearn(n):
    sk = pytest.importorskip("sklearn.datasets")
    X, y = make_circles(n=n, noise=0.0, factor=0.3, shuffle=False)
    X_sk, y_sk = sk.make_circles(n_samples=n, noise=None, factor=0.3, shuffle=False)
    np.testing.assert_allclose(X, X_sk, rtol=0, atol=1e-15)
    assert np.array_equal(y, y_sk)


@pytest.mark.parametrize("factor", [0.0, 1.0, 1.5, -0.2])
def test_circles_reject_factor_outside_0_1(factor):
    with pytest.raises(ValueError, match=r"factor: expected a number in \(0, 1\)"):
        make_circles(factor=factor)


def test_spirals_arms_follow_the_classic_formula():
    X, y = make_spirals(n=30, classes=3, noise=0.0, shuffle=False)
    for k in range(3):
        arm = X[y == k]
        r = np.linspace(0.0, 1.0, 10)
        t = np.linspace(4.0 * k, 4.0 * k + 4.0, 10)
        np.testing.assert_allclose(arm[:, 0], r * np.sin(t), atol=1e-15)
        np.testing.assert_allclose(arm[:, 1], r * np.cos(t), atol=1e-15)


def test_spirals_split_uneven_counts_and_reject_one_class():
    _, y = make_spirals(n=10, classes=4)
    assert np.bincount(y).tolist() == [3, 3, 2, 2]
    with pytest.raises(ValueError, match="classes: expected an integer >= 2, got 1"):
        make_spirals(classes=1)


def test_blobs_means_and_spread_match_the_centres():
    centres = np.array([[-3.0, 1.0, 0.0], [4.0, 4.0, 4.0]])
    X, y = make_blobs(n=20000, centers=centres, std=0.5, seed=2)
    assert X.shape == (20000, 3)
    for k in range(2):
        np.testing.assert_allclose(X[y == k].mean(axis=0), centres[k], atol=0.03)
        np.testing.assert_allclose(X[y == k].std(axis=0), 0.5, atol=0.02)


def test_blobs_random_centres_stay_in_the_box():
    X, y = make_blobs(n=300, centers=4, std=0.0, dim=5, box=(-2.0, 3.0))
    assert X.shape == (300, 5)
    assert len(np.unique(y)) == 4
    assert X.min() >= -2.0
    assert X.max() <= 3.0


def test_blobs_bad_arguments():
    with pytest.raises(ValueError, match=r"centers: expected a count or a \(K, dim\) array"):
        make_blobs(centers=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"box: expected \(low, high\) with low < high"):
        make_blobs(box=(1.0, 1.0))
    with pytest.raises(ValueError, match="centers: expected an integer >= 1, got 0"):
        make_blobs(centers=0)


# -- 1-D regression: the piecewise-linear curve -----------------------------------------------


def test_piecewise_linear_closed_form():
    knots = [(0.0, 1.0), (2.0, 5.0), (3.0, -1.0)]
    xs = [-4.0, 0.0, 0.5, 2.0, 2.5, 3.0, 10.0]
    expected = [1.0, 1.0, 2.0, 5.0, 2.0, -1.0, -1.0]
    np.testing.assert_allclose(piecewise_linear(xs, knots), expected, atol=1e-15)


def test_piecewise_linear_is_constant_plus_hard_sigmoids():
    # The lecture's claim, as an oracle: the curve = constant + sum of one hard-sigmoid-shaped
    # ramp per sloped piece (0 left of the piece, linear across it, constant right of it).
    knots = list(data.DEFAULT_KNOTS)
    x = np.linspace(-5.0, 5.0, 1001)
    total = np.full_like(x, knots[0][1])
    for (x0, y0), (x1, y1) in itertools.pairwise(knots):
        total += (y1 - y0) * np.clip((x - x0) / (x1 - x0), 0.0, 1.0)
    np.testing.assert_allclose(piecewise_linear(x), total, atol=1e-12)


def test_regression_1d_sorted_inside_range_and_noise():
    X, y = make_regression_1d(n=5000, noise=0.2, seed=4)
    assert X.shape == (5000, 1)
    assert y.dtype == np.float64
    assert np.all(np.diff(X[:, 0]) >= 0)
    lo, hi = data.DEFAULT_KNOTS[0][0], data.DEFAULT_KNOTS[-1][0]
    assert X.min() >= lo
    assert X.max() <= hi
    residual = y - piecewise_linear(X[:, 0])
    assert abs(residual.std() - 0.2) < 0.01
    assert abs(residual.mean()) < 0.01


def test_regression_1d_custom_range_extends_flat():
    X, y = make_regression_1d(n=50, knots=[(0.0, 0.0), (1.0, 2.0)], x_range=(2.0, 3.0))
    assert X.min() >= 2.0
    np.testing.assert_array_equal(y, 2.0)


def test_regression_and_curve_bad_knots():
    with pytest.raises(ValueError, match="expected strictly increasing"):
        piecewise_linear([0.0], [(1.0, 0.0), (0.0, 1.0)])
    with pytest.raises(ValueError, match=r"at least two \(x, y\) pairs, got shape \(1, 2\)"):
        piecewise_linear([0.0], [(1.0, 0.0)])
    with pytest.raises(ValueError, match=r"at least two \(x, y\) pairs"):
        make_regression_1d(knots=[(1.0, 0.0)])
    with pytest.raises(ValueError, match=r"x_range: expected \(low, high\) with low < high"):
        make_regression_1d(x_range=(3.0, 1.0))


# -- digits -------------------------------------------------------------------------------------


def test_load_digits_scaled_copy_of_sklearn():
    sk = pytest.importorskip("sklearn.datasets")
    X, y = load_digits()
    raw = sk.load_digits()
    assert X.shape == (1797, 64)
    assert X.dtype == np.float64
    assert y.dtype == np.int64
    assert X.min() == 0.0
    assert X.max() == 1.0
    np.testing.assert_array_equal(X * 16.0, raw.data)
    np.testing.assert_array_equal(y, raw.target)


def test_load_digits_n_class_and_bad_values():
    pytest.importorskip("sklearn.datasets")
    _, y = load_digits(n_class=3)
    assert sorted(set(y.tolist())) == [0, 1, 2]
    with pytest.raises(ValueError, match=r"n_class: expected an integer in \[2, 10\], got 11"):
        load_digits(n_class=11)
    with pytest.raises(ValueError, match=r"n_class: expected an integer in \[2, 10\], got 1"):
        load_digits(n_class=1)


def test_load_digits_without_sklearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'microgradnn\[digits\]'"):
        load_digits()


# -- train_test_split ---------------------------------------------------------------------------


def test_split_is_a_partition_and_seeded():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=1)
    assert len(y_te) == 5
    assert len(y_tr) == 15
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(20))
    np.testing.assert_array_equal(X_tr[:, 0], 2.0 * y_tr)
    np.testing.assert_array_equal(X_te[:, 0], 2.0 * y_te)
    again = train_test_split(X, y, test_size=0.25, seed=1)
    assert np.array_equal(again[3], y_te)
    other = train_test_split(X, y, test_size=0.25, seed=2)
    assert not np.array_equal(other[3], y_te)


def test_split_integer_test_size():
    X, y = make_moons(n=30)
    _, X_te, _, _ = train_test_split(X, y, test_size=7)
    assert len(X_te) == 7


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=1, max_value=40), min_size=2, max_size=5),
    frac=st.floats(min_value=0.05, max_value=0.9),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_stratified_split_keeps_class_shares(counts, frac, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    X = np.arange(len(y), dtype=float).reshape(-1, 1)
    n_test = math.ceil(frac * len(y))
    if not 1 <= n_test < len(y):
        return
    _, X_te, y_tr, y_te = train_test_split(X, y, test_size=frac, seed=seed, stratify=True)
    assert len(y_te) == n_test
    assert len(y_tr) + len(y_te) == len(y)
    for k, c in enumerate(counts):
        # Each class gets its exact proportional share, rounded up or down.
        share = c * n_test / len(y)
        assert math.floor(share) <= int(np.sum(y_te == k)) <= math.ceil(share)
    np.testing.assert_array_equal(y[X_te[:, 0].astype(int)], y_te)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"test_size": 0.0}, ValueError, r"test_size: expected a number in \(0, 1\), got 0.0"),
        ({"test_size": 1.5}, ValueError, r"test_size: expected a number in \(0, 1\), got 1.5"),
        ({"test_size": 10}, ValueError, r"test_size: expected an integer in \[1, 9\], got 10"),
        ({"test_size": 0}, ValueError, r"test_size: expected an integer in \[1, 9\], got 0"),
        (
            {"test_size": "a"},
            TypeError,
            r"test_size: expected a fraction in \(0, 1\) or a number of rows, got str 'a'",
        ),
    ],
)
def test_split_bad_test_size(kwargs, error, match):
    X, y = make_moons(n=10)
    with pytest.raises(error, match=match):
        train_test_split(X, y, **kwargs)


def test_split_length_mismatch_and_stratify_2d():
    X, y = make_moons(n=10)
    with pytest.raises(ValueError, match="X has 10, y has 9"):
        train_test_split(X, y[:9])
    with pytest.raises(ValueError, match=r"X: expected 2-D \(N, d\), got shape \(10,\)"):
        train_test_split(X[:, 0], y)
    with pytest.raises(ValueError, match=r"stratify needs 1-D class labels y, got shape \(10, 2\)"):
        train_test_split(X, one_hot(y), stratify=True)


# -- one_hot, to_pm1 --------------------------------------------------------------------------


def test_one_hot_equals_identity_rows():
    y = np.array([2, 0, 1, 2])
    np.testing.assert_array_equal(one_hot(y), np.eye(3)[y])
    np.testing.assert_array_equal(one_hot(y, num_classes=5), np.eye(5)[y])
    assert one_hot([True, False]).tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_one_hot_bad_input():
    with pytest.raises(ValueError, match="expected labels below num_classes=2, got 2"):
        one_hot([0, 2], num_classes=2)
    with pytest.raises(ValueError, match="one_hot expects labels >= 0, got -1"):
        one_hot([0, -1])
    with pytest.raises(ValueError, match="one_hot expects integer class labels"):
        one_hot([0.5, 1.0])
    with pytest.raises(ValueError, match=r"one_hot expects 1-D labels, got shape \(2, 1\)"):
        one_hot([[0], [1]])


def test_to_pm1_and_bad_labels():
    assert to_pm1(np.array([0, 1, 1, 0])).tolist() == [-1, 1, 1, -1]
    assert to_pm1([0.0, 1.0]).dtype == np.int64
    with pytest.raises(ValueError, match="to_pm1 expects labels 0 or 1, got 2"):
        to_pm1([0, 2])
    with pytest.raises(ValueError, match="to_pm1 expects integer class labels"):
        to_pm1(["a", "b"])


# -- batches ------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=60),
    batch_size=st.one_of(st.none(), st.integers(min_value=1, max_value=80)),
    shuffle=st.booleans(),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_batches_cover_every_row_once_in_ceil_n_over_b(n, batch_size, shuffle, seed):
    X = np.arange(2.0 * n).reshape(n, 2)
    y = np.arange(n)
    out = list(batches(X, y, batch_size=batch_size, shuffle=shuffle, rng=seed))
    b = n if batch_size is None else min(batch_size, n)
    assert len(out) == math.ceil(n / b)
    assert all(len(yb) == b for _, yb in out[:-1])
    seen = np.concatenate([yb for _, yb in out])
    assert sorted(seen.tolist()) == list(range(n))
    for Xb, yb in out:
        np.testing.assert_array_equal(Xb[:, 0], 2.0 * yb)
    if not shuffle:
        assert seen.tolist() == list(range(n))


def test_lecture_numbers_updates_per_epoch():
    X = np.zeros((10_000, 1))
    y = np.zeros(10_000)
    assert sum(1 for _ in batches(X, y, batch_size=10)) == 1000
    assert sum(1 for _ in batches(X[:1000], y[:1000], batch_size=100)) == 10


def test_batches_shuffle_is_seeded_and_generator_advances():
    X = np.arange(20.0).reshape(20, 1)
    y = np.arange(20)
    first = [yb.tolist() for _, yb in batches(X, y, 4, shuffle=True, rng=3)]
    again = [yb.tolist() for _, yb in batches(X, y, 4, shuffle=True, rng=3)]
    assert first == again
    gen = np.random.default_rng(3)
    epoch1 = [yb.tolist() for _, yb in batches(X, y, 4, shuffle=True, rng=gen)]
    epoch2 = [yb.tolist() for _, yb in batches(X, y, 4, shuffle=True, rng=gen)]
    assert epoch1 == first
    assert epoch2 != epoch1


def test_batches_bad_input():
    X, y = make_xor()
    with pytest.raises(ValueError, match="batch_size: expected an integer >= 1, got 0"):
        list(batches(X, y, batch_size=0))
    with pytest.raises(TypeError, match="batch_size: expected an integer >= 1, got float"):
        list(batches(X, y, batch_size=2.5))
    with pytest.raises(ValueError, match="X has 4, y has 3"):
        list(batches(X, y[:3]))
