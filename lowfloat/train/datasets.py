"""Datasets: the handwritten digits shipped with lowfloat, or your own arrays.

The digits (1797 images of 8x8 pixel counts 0..16, 10 classes) are the UCI
"Optical Recognition of Handwritten Digits" set as bundled with
scikit-learn, stored in ``lowfloat/train/data/digits.npz`` (licences in
``data/NOTICE.txt``), so no download and no scikit-learn are needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Dataset", "load_digits", "load_npz", "split", "epoch_order"]

_DIGITS = Path(__file__).with_name("data") / "digits.npz"


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays: ``X`` float32 (n, features), ``y`` int64 (n,) labels 0..classes-1."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str = "data"

    def __post_init__(self):
        # a NaN or inf feature would not stop training: it silently zeroes or poisons every activation
        for part in ("X_train", "X_test"):
            values = np.asarray(getattr(self, part))
            if values.ndim != 2 or values.dtype.kind not in "iuf":
                raise ValueError(f"{part} must be a 2-D array of real numbers, got {values.dtype} {values.shape}")
            bad = values.size - int(np.count_nonzero(np.isfinite(values)))
            if bad:
                rows = int(np.count_nonzero(~np.isfinite(values).all(axis=1)))
                raise ValueError(f"{part} holds {bad} NaN or infinite values in {rows} rows; clean or drop them first")
        for part in ("y_train", "y_test"):
            labels = np.asarray(getattr(self, part))
            if labels.ndim != 1 or labels.dtype.kind not in "iu" or (labels.size and labels.min() < 0):
                raise ValueError(f"{part} must be a 1-D array of non-negative integer labels")

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(initial=0), self.y_test.max(initial=0))) + 1


def split(X, y, *, test_fraction=0.2, seed=0, name="data") -> Dataset:  # noqa: N803 -- X, y as in scikit-learn
    """A deterministic shuffled split: the same ``seed`` always gives the same sets.

    Parameters
    ----------
    X : array_like, (n, features)
    y : array_like of ints, (n,)
    test_fraction : float
        Share of the samples held out, in (0, 1).
    seed : int
        Seeds the permutation (independent of the training seed).

    Raises
    ------
    ValueError
        Shapes that do not match, non-integer or negative labels, non-finite
        features, or a fraction that leaves either set empty.
    """
    X = np.asarray(X)  # noqa: N806
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be (n, features) and y (n,), got X {X.shape} and y {y.shape}")
    if y.dtype.kind not in "iu" or (y.size and y.min() < 0):
        raise ValueError(f"y must hold non-negative integer labels, got dtype {y.dtype}")
    if X.dtype.kind not in "iuf":
        raise ValueError(f"X must hold real numbers, got dtype {X.dtype}")  # non-finite ones: Dataset refuses them
    n_test = round(X.shape[0] * test_fraction) if 0 < test_fraction < 1 else 0
    if not 0 < n_test < X.shape[0]:
        raise ValueError(f"test_fraction={test_fraction!r} leaves the train or test set empty for {X.shape[0]} samples")
    order = np.random.default_rng(seed).permutation(X.shape[0])
    test, train = order[:n_test], order[n_test:]
    X = X.astype(np.float32)  # noqa: N806
    y = y.astype(np.int64)
    return Dataset(X[train], y[train], X[test], y[test], name=name)


def load_digits(*, test_fraction=0.2, seed=0) -> Dataset:
    """The handwritten digits, pixels scaled to [0, 1], split deterministically.

    Examples
    --------
    >>> from lowfloat.train import load_digits
    >>> data = load_digits()
    >>> data.X_train.shape, data.X_test.shape, data.n_classes
    ((1438, 64), (359, 64), 10)
    >>> float(data.X_train.max())
    1.0
    """
    with np.load(_DIGITS) as archive:
        pixels = archive["X"].astype(np.float32) / np.float32(16)  # pixel counts 0..16 -> [0, 1], exact
        labels = archive["y"]
    return split(pixels, labels, test_fraction=test_fraction, seed=seed, name="digits")


def load_npz(path, *, test_fraction=0.2, seed=0) -> Dataset:
    """Your own data: an ``.npz`` file with arrays ``X`` (n, features) and ``y`` (n,) integer labels.

    Features are used as they are (scale them yourself).

    Raises
    ------
    ValueError
        The file lacks ``X`` or ``y``, or they are malformed (see :func:`split`).
    FileNotFoundError
        No such file.
    """
    with np.load(path) as archive:
        missing = [key for key in ("X", "y") if key not in archive.files]
        if missing:
            raise ValueError(f"{path}: missing array(s) {', '.join(missing)}; expected X (n, features) and y (n,)")
        features, labels = archive["X"], archive["y"]
    return split(features, labels, test_fraction=test_fraction, seed=seed, name=Path(path).stem)


def epoch_order(n, seed, epoch) -> np.ndarray:
    """The order in which epoch ``epoch`` of a run seeded ``seed`` visits ``n`` training samples.

    Examples
    --------
    >>> from lowfloat.train.datasets import epoch_order
    >>> (epoch_order(5, 0, 1) == epoch_order(5, 0, 1)).all(), sorted(epoch_order(5, 0, 1).tolist())
    (np.True_, [0, 1, 2, 3, 4])
    """
    return np.random.default_rng([seed, epoch]).permutation(n)
