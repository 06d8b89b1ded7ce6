"""Regenerate ``digits.npz`` from scikit-learn's bundled copy of the UCI handwritten digits.

Run once, with scikit-learn installed (it is not needed afterwards)::

    python lowfloat/train/data/make_digits.py

The result holds ``X`` (1797, 64) uint8 pixel counts 0..16 and ``y`` (1797,)
uint8 labels 0..9, in scikit-learn's order.  See ``NOTICE.txt`` for the
data's origin and licences.
"""

from pathlib import Path

import numpy as np


def main() -> None:
    from sklearn.datasets import load_digits  # only here: the package never needs scikit-learn

    digits = load_digits()
    pixels = digits.data.astype(np.uint8)  # pixel counts 0..16: exact in uint8
    labels = digits.target.astype(np.uint8)
    assert pixels.shape == (1797, 64) and (pixels == digits.data).all() and (labels == digits.target).all()
    np.savez_compressed(Path(__file__).with_name("digits.npz"), X=pixels, y=labels)


if __name__ == "__main__":
    main()
