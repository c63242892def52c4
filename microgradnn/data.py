"""Toy data sets, the digits, splits and mini-batches: everything a training loop eats.

Every generator returns ``(X, y)`` as numpy arrays: ``X`` float64 of shape ``(N, d)``, ``y`` of
shape ``(N,)``, int64 class labels (0/1, or 0..K-1) for classification, float64 for regression.
A model takes a row of ``X`` directly (``model(X[0])``). Randomness comes from a numpy
``Generator`` seeded by ``seed``, so the same seed gives the same points, bit for bit.

>>> X, y = make_moons(n=6, noise=0.0, shuffle=False)
>>> X.shape, y.tolist()
((6, 2), [0, 0, 0, 1, 1, 1])
>>> [len(yb) for _, yb in batches(X, y, batch_size=4)]
[4, 2]
"""

# X (capital) is the data matrix, as in the math and in scikit-learn.
# ruff: noqa: N803, N806

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from microgradnn._checks import describe, flag, integer, number

__all__ = [
    "batches",
    "load_digits",
    "make_and",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_or",
    "make_regression_1d",
    "make_spirals",
    "make_xor",
    "one_hot",
    "piecewise_linear",
    "to_pm1",
    "train_test_split",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DEFAULT_KNOTS: tuple[tuple[float, float], ...] = (
    (-3.0, 0.5),
    (-1.5, 0.5),
    (-0.5, -1.0),
    (0.5, 1.5),
    (1.5, 0.5),
    (3.0, 0.5),
)
"""The lecture's red curve: flat, down, up, down, flat (knots as (x, y) pairs)."""

_TRUTH_TABLE = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


# -- argument checks ------------------------------------------------------------------------------


def _rng(seed: int | None) -> np.random.Generator:
    if seed is not None:
        seed = integer("seed", seed)
    return np.random.default_rng(seed)


def _split(n: int, parts: int) -> list[int]:
    """``n`` items over ``parts`` groups as evenly as possible, the larger groups first."""
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def _as_xy(X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    Xa = np.asarray(X)
    ya = np.asarray(y)
    if Xa.ndim != 2:
        raise ValueError(f"X: expected 2-D (N, d), got shape {Xa.shape}")
    if ya.ndim == 0 or len(ya) != len(Xa):
        raise ValueError(
            f"X and y must have the same number of rows: X has {len(Xa)}, "
            f"y has {'no rows (a scalar)' if ya.ndim == 0 else len(ya)}"
        )
    return Xa, ya


# -- logic gates ----------------------------------------------------------------------------------


def make_xor() -> tuple[FloatArray, IntArray]:
    """The XOR truth table: y = x1 XOR x2 (true when exactly one input is 1).

    No straight line separates its two classes, so a single neuron cannot learn it; one hidden
    layer can (Minsky and Papert, 1969).

    >>> X, y = make_xor()
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    return _TRUTH_TABLE.copy(), np.array([0, 1, 1, 0], dtype=np.int64)


def make_and() -> tuple[FloatArray, IntArray]:
    """The AND truth table: y = x1 AND x2 (linearly separable: one neuron suffices).

    >>> make_and()[1].tolist()
    [0, 0, 0, 1]
    """
    return _TRUTH_TABLE.copy(), np.array([0, 0, 0, 1], dtype=np.int64)


def make_or() -> tuple[FloatArray, IntArray]:
    """The OR truth table: y = x1 OR x2 (linearly separable: one neuron suffices).

    >>> make_or()[1].tolist()
    [0, 1, 1, 1]
    """
    return _TRUTH_TABLE.copy(), np.array([0, 1, 1, 1], dtype=np.int64)


# -- 2-D classification -------------------------------------------------------------------------


def make_moons(
    n: int = 100, noise: float = 0.1, seed: int | None = 0, shuffle: bool = True
) -> tuple[FloatArray, IntArray]:
    """Two interleaving half circles, the geometry of ``sklearn.datasets.make_moons``.

    Class 0 lies on the upper half of the unit circle, (cos t, sin t) for t in [0, pi]; class 1
    on the lower half shifted right and down, (1 - cos t, 1/2 - sin t). Gaussian noise of
    standard deviation ``noise`` is added to every coordinate.

    Args:
        n: Number of points (class 0 gets ``n // 2``, class 1 the rest).
        noise: Standard deviation of the Gaussian noise (0 for points exactly on the arcs).
        seed: Seed of the random generator (None: a fresh, unseeded one).
        shuffle: Shuffle the rows (otherwise class 0 comes first).

    >>> X, y = make_moons(n=4, noise=0.0, shuffle=False)
    >>> X.round(3).tolist()
    [[1.0, 0.0], [-1.0, 0.0], [0.0, 0.5], [2.0, 0.5]]
    """
    n = integer("n", n, low=1)
    noise = number("noise", noise, low=0.0)
    rng = _rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t_out), np.sin(t_out)]),
            np.column_stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)]),
        ]
    )
    y = np.concatenate([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    return _finish(X, y, noise, rng, shuffle)


def make_circles(
    n: int = 100,
    noise: float = 0.05,
    factor: float = 0.5,
    seed: int | None = 0,
    shuffle: bool = True,
) -> tuple[FloatArray, IntArray]:
    """A circle of class 1 inside a circle of class 0 (``sklearn.datasets.make_circles``).

    Class 0: (cos t, sin t); class 1: factor * (cos t, sin t), t evenly spaced in [0, 2 pi).
    No line separates them, but the radius x1^2 + x2^2 does.

    Args:
        n: Number of points (the outer circle gets ``n // 2``).
        noise: Standard deviation of the Gaussian noise added to every coordinate.
        factor: Radius of the inner circle, strictly between 0 and 1.
        seed: Seed of the random generator.
        shuffle: Shuffle the rows.

    >>> X, y = make_circles(n=8, noise=0.0, shuffle=False)
    >>> np.hypot(X[:, 0], X[:, 1]).round(3).tolist(), y.tolist()
    ([1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5], [0, 0, 0, 0, 1, 1, 1, 1])
    """
    n = integer("n", n, low=1)
    noise = number("noise", noise, low=0.0)
    factor = number("factor", factor, low=0.0, high=1.0, low_open=True, high_open=True)
    rng = _rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0.0, 2.0 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0.0, 2.0 * np.pi, n_in, endpoint=False)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t_out), np.sin(t_out)]),
            factor * np.column_stack([np.cos(t_in), np.sin(t_in)]),
        ]
    )
    y = np.concatenate([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    return _finish(X, y, noise, rng, shuffle)


def make_spirals(
    n: int = 150,
    classes: int = 3,
    noise: float = 0.2,
    turns: float = 1.0,
    seed: int | None = 0,
    shuffle: bool = True,
) -> tuple[FloatArray, IntArray]:
    """``classes`` interleaved spiral arms (the classic CS231n toy problem).

    Arm k has points r (sin t, cos t) with the radius r running from 0 to 1 and the angle t
    from 4k to 4k + 4 turns radians: each arm starts at the centre and winds outwards.
    ``noise`` is the standard deviation of a Gaussian jitter added to the angle, in radians,
    as in the original.

    Args:
        n: Total number of points, split as evenly as possible over the arms.
        classes: Number of arms (= classes), at least 2.
        noise: Angle jitter in radians.
        turns: How far each arm winds (1.0: the classic 4-radian sweep).
        seed: Seed of the random generator.
        shuffle: Shuffle the rows (otherwise arm 0 comes first).

    >>> X, y = make_spirals(n=9, classes=3, noise=0.0, shuffle=False)
    >>> np.bincount(y).tolist(), float(np.abs(X).max()) <= 1.0
    ([3, 3, 3], True)
    """
    n = integer("n", n, low=1)
    classes = integer("classes", classes, low=2)
    noise = number("noise", noise, low=0.0)
    turns = number("turns", turns, low=0.0)
    rng = _rng(seed)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    sweep = 4.0 * turns
    counts = _split(n, classes)
    # The angle noise is drawn per arm so that changing `noise` keeps the same radii.
    for k, m in enumerate(counts):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(k * 4.0, k * 4.0 + sweep, m) + noise * rng.standard_normal(m)
        xs.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        ys.append(np.full(m, k, dtype=np.int64))
    return _finish(np.concatenate(xs), np.concatenate(ys), 0.0, rng, shuffle)


def make_blobs(
    n: int = 150,
    centers: int | ArrayLike = 3,
    std: float = 1.0,
    dim: int = 2,
    box: tuple[float, float] = (-5.0, 5.0),
    seed: int | None = 0,
    shuffle: bool = True,
) -> tuple[FloatArray, IntArray]:
    """Gaussian blobs around ``centers``, one class per blob (``sklearn.datasets.make_blobs``).

    Args:
        n: Total number of points, split as evenly as possible over the blobs.
        centers: The number of blobs (centres drawn uniformly in ``box``), or their coordinates
            as a ``(K, dim)`` array.
        std: Standard deviation of each blob.
        dim: Number of features when ``centers`` is a count.
        box: Range of the random centres.
        seed: Seed of the random generator.
        shuffle: Shuffle the rows.

    >>> X, y = make_blobs(n=4, centers=[[0.0, 0.0], [9.0, 9.0]], std=0.0, shuffle=False)
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 0.0], [9.0, 9.0], [9.0, 9.0]], [0, 0, 1, 1])
    """
    n = integer("n", n, low=1)
    std = number("std", std, low=0.0)
    rng = _rng(seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        k = integer("centers", centers, low=1)
        dim = integer("dim", dim, low=1)
        lo, hi = (number("box", b) for b in box)
        if not lo < hi:
            raise ValueError(f"box: expected (low, high) with low < high, got {box}")
        c = rng.uniform(lo, hi, size=(k, dim))
    else:
        c = np.asarray(centers, dtype=np.float64)
        if c.ndim != 2 or len(c) == 0:
            raise ValueError(
                f"centers: expected a count or a (K, dim) array of coordinates, got shape {c.shape}"
            )
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for k, m in enumerate(_split(n, len(c))):
        xs.append(c[k] + std * rng.standard_normal((m, c.shape[1])))
        ys.append(np.full(m, k, dtype=np.int64))
    return _finish(np.concatenate(xs), np.concatenate(ys), 0.0, rng, shuffle)


def _finish(
    X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator, shuffle: bool
) -> tuple[FloatArray, IntArray]:
    if shuffle:
        order = rng.permutation(len(X))
        X, y = X[order], y[order]
    if noise > 0.0:
        X = X + rng.normal(scale=noise, size=X.shape)
    return np.ascontiguousarray(X, dtype=np.float64), y.astype(np.int64)


# -- 1-D regression -----------------------------------------------------------------------------


def piecewise_linear(
    x: ArrayLike, knots: Sequence[tuple[float, float]] = DEFAULT_KNOTS
) -> FloatArray:
    """The curve through ``knots`` (straight between them, flat beyond the ends).

    Such a curve is a constant plus a sum of hard sigmoids, one per sloped piece; that is why a
    sum of sigmoids (or ReLUs) can approximate it, and with more pieces, any continuous curve.

    Args:
        x: Where to evaluate the curve.
        knots: ``(x, y)`` pairs with strictly increasing x (at least two).

    >>> piecewise_linear([-5.0, 0.0, 1.0], [(-1.0, 0.0), (1.0, 2.0)]).tolist()
    [0.0, 1.0, 2.0]
    """
    k = np.asarray(knots, dtype=np.float64)
    if k.ndim != 2 or k.shape[1] != 2 or len(k) < 2:
        raise ValueError(f"knots: expected at least two (x, y) pairs, got shape {k.shape}")
    if not np.all(np.diff(k[:, 0]) > 0):
        raise ValueError(f"knots: expected strictly increasing x values, got {k[:, 0].tolist()}")
    return np.interp(np.asarray(x, dtype=np.float64), k[:, 0], k[:, 1])


def make_regression_1d(
    n: int = 100,
    noise: float = 0.0,
    knots: Sequence[tuple[float, float]] = DEFAULT_KNOTS,
    x_range: tuple[float, float] | None = None,
    seed: int | None = 0,
) -> tuple[FloatArray, FloatArray]:
    """Samples of a piecewise-linear curve, the lecture's "constant + sum of hard sigmoids".

    x is drawn uniformly over ``x_range`` (default: the knots' span) and sorted, so the rows
    plot as a curve; y = :func:`piecewise_linear` (x) plus Gaussian noise of std ``noise``.

    Args:
        n: Number of samples.
        noise: Standard deviation of the noise added to y.
        knots: ``(x, y)`` pairs defining the curve (default: :data:`DEFAULT_KNOTS`).
        x_range: ``(low, high)`` of the x values.
        seed: Seed of the random generator.

    Returns:
        ``X`` of shape ``(n, 1)`` and float targets ``y`` of shape ``(n,)``.

    >>> X, y = make_regression_1d(n=5, knots=[(0.0, 0.0), (1.0, 1.0)])
    >>> X.shape, bool(np.allclose(X[:, 0], y))
    ((5, 1), True)
    """
    n = integer("n", n, low=1)
    noise = number("noise", noise, low=0.0)
    rng = _rng(seed)
    k = np.asarray(knots, dtype=np.float64)
    if x_range is None:
        if k.ndim != 2 or k.shape[1] != 2 or len(k) < 2:
            raise ValueError(f"knots: expected at least two (x, y) pairs, got shape {k.shape}")
        lo, hi = float(k[0, 0]), float(k[-1, 0])
    else:
        lo, hi = (number("x_range", b) for b in x_range)
    if not lo < hi:
        raise ValueError(f"x_range: expected (low, high) with low < high, got ({lo}, {hi})")
    x = np.sort(rng.uniform(lo, hi, size=n))
    y = piecewise_linear(x, knots)
    if noise > 0.0:
        y = y + rng.normal(scale=noise, size=n)
    return x.reshape(-1, 1), y


# -- real data ----------------------------------------------------------------------------------


def load_digits(n_class: int = 10) -> tuple[FloatArray, IntArray]:
    """The 1,797 handwritten 8x8 digits bundled with scikit-learn (no download).

    Each image is flattened to 64 features and scaled from 0..16 to [0, 1]. Needs the optional
    extra ``digits`` (scikit-learn).

    Args:
        n_class: Keep only the digits 0..n_class-1 (2 to 10).

    Returns:
        ``X`` of shape ``(N, 64)`` in [0, 1] and labels ``y`` in 0..n_class-1.

    Raises:
        ImportError: scikit-learn is not installed.
    """
    n_class = integer("n_class", n_class, low=2, high=10)
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as err:
        raise ImportError(
            "load_digits needs scikit-learn: pip install 'microgradnn[digits]'"
        ) from err
    bunch = _sk_load_digits(n_class=n_class)
    X = np.asarray(bunch.data, dtype=np.float64) / 16.0
    return X, np.asarray(bunch.target, dtype=np.int64)


# -- preparing data -------------------------------------------------------------------------------


def train_test_split(
    X: ArrayLike,
    y: ArrayLike,
    test_size: float | int = 0.25,
    seed: int | None = 0,
    stratify: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``X, y`` into a random training part and a held-out test part.

    Args:
        X: Inputs, shape ``(N, d)``.
        y: Targets, ``N`` rows.
        test_size: A fraction in (0, 1) of the rows, or a number of rows, for the test part.
        seed: Seed of the shuffle.
        stratify: Keep each class's share the same in both parts (for class labels ``y``).

    Returns:
        ``X_train, X_test, y_train, y_test`` (scikit-learn's order).

    >>> X, y = make_moons(n=100)
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=True)
    >>> len(X_tr), len(X_te), int(y_te.sum())
    (80, 20, 10)
    """
    Xa, ya = _as_xy(X, y)
    n = len(Xa)
    stratify = flag("stratify", stratify)
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(
            f"test_size: expected a fraction in (0, 1) or a number of rows, got "
            f"{describe(test_size)}"
        )
    if isinstance(test_size, numbers.Integral):
        n_test = integer("test_size", test_size, low=1, high=n - 1)
    else:
        frac = number("test_size", test_size, low=0.0, high=1.0, low_open=True, high_open=True)
        n_test = math.ceil(frac * n)
        if not 1 <= n_test < n:
            raise ValueError(
                f"test_size {frac} of {n} rows leaves {n_test} test and {n - n_test} training "
                "rows; both need at least one"
            )
    rng = _rng(seed)
    if not stratify:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    else:
        if ya.ndim != 1:
            raise ValueError(f"stratify needs 1-D class labels y, got shape {ya.shape}")
        classes, inverse = np.unique(ya, return_inverse=True)
        per_class = [np.flatnonzero(inverse == c) for c in range(len(classes))]
        quotas = _stratified_quotas([len(idx) for idx in per_class], n_test)
        test_parts: list[np.ndarray] = []
        train_parts: list[np.ndarray] = []
        for idx, q in zip(per_class, quotas, strict=True):
            shuffled = rng.permutation(idx)
            test_parts.append(shuffled[:q])
            train_parts.append(shuffled[q:])
        test = rng.permutation(np.concatenate(test_parts))
        train = rng.permutation(np.concatenate(train_parts))
    return Xa[train], Xa[test], ya[train], ya[test]


def _stratified_quotas(counts: list[int], n_test: int) -> list[int]:
    """Test rows per class, proportional to class sizes, summing to ``n_test`` (largest rest)."""
    total = sum(counts)
    exact = [c * n_test / total for c in counts]
    quotas = [math.floor(e) for e in exact]
    by_rest = sorted(range(len(counts)), key=lambda i: (-(exact[i] - quotas[i]), i))
    for i in by_rest[: n_test - sum(quotas)]:
        quotas[i] += 1
    return quotas


def one_hot(y: ArrayLike, num_classes: int | None = None) -> FloatArray:
    """Class labels 0..K-1 as one-hot rows: label k -> a row of K zeros with a 1 at k.

    >>> one_hot([0, 2, 1]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    labels = _labels(y, "one_hot")
    k = int(labels.max()) + 1 if len(labels) else 0
    if num_classes is not None:
        num_classes = integer("num_classes", num_classes, low=1)
        if k > num_classes:
            raise ValueError(
                f"one_hot: expected labels below num_classes={num_classes}, got {k - 1}"
            )
        k = num_classes
    out = np.zeros((len(labels), k), dtype=np.float64)
    out[np.arange(len(labels)), labels] = 1.0
    return out


def to_pm1(y: ArrayLike) -> IntArray:
    """Binary labels 0/1 as -1/+1, the targets hinge and logistic losses expect (y f(x) > 0).

    >>> to_pm1([0, 1, 1]).tolist()
    [-1, 1, 1]
    """
    labels = _labels(y, "to_pm1")
    bad = labels[(labels != 0) & (labels != 1)]
    if len(bad):
        raise ValueError(f"to_pm1 expects labels 0 or 1, got {bad[0]}")
    return 2 * labels - 1


def _labels(y: ArrayLike, who: str) -> IntArray:
    a = np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"{who} expects 1-D labels, got shape {a.shape}")
    if a.dtype.kind == "b":
        return a.astype(np.int64)
    if a.dtype.kind not in "iuf" or (a.dtype.kind == "f" and not np.all(a == np.round(a))):
        raise ValueError(f"{who} expects integer class labels, got dtype {a.dtype}: {a[:5]}")
    labels = a.astype(np.int64)
    if len(labels) and labels.min() < 0:
        raise ValueError(f"{who} expects labels >= 0, got {labels.min()}")
    return labels


def batches(
    X: ArrayLike,
    y: ArrayLike,
    batch_size: int | None = None,
    shuffle: bool = False,
    rng: np.random.Generator | int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X_batch, y_batch)`` pairs covering every row once: one epoch.

    With N rows and batch size B there are ceil(N / B) batches (the last may be smaller):
    10,000 examples in batches of 10 make 1,000 updates per epoch. ``batch_size=None`` (or N)
    is one full batch (gradient descent); 1 is stochastic gradient descent.

    Args:
        X: Inputs, shape ``(N, d)``.
        y: Targets, ``N`` rows.
        batch_size: Rows per batch, or None for all of them.
        shuffle: Visit the rows in a random order (draw a new one every epoch).
        rng: A numpy Generator (or a seed) for the shuffle.

    >>> X, y = make_xor()
    >>> [yb.tolist() for _, yb in batches(X, y, batch_size=3)]
    [[0, 1, 1], [0]]
    """
    Xa, ya = _as_xy(X, y)
    n = len(Xa)
    size = n if batch_size is None else integer("batch_size", batch_size, low=1)
    size = max(1, min(size, n))
    if flag("shuffle", shuffle):
        gen = rng if isinstance(rng, np.random.Generator) else _rng(rng)
        order: np.ndarray | None = gen.permutation(n)
    else:
        order = None
    for start in range(0, n, size):
        if order is None:
            yield Xa[start : start + size], ya[start : start + size]
        else:
            idx = order[start : start + size]
            yield Xa[idx], ya[idx]
