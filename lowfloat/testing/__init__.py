"""Tools for testing other implementations of low-precision formats against lowfloat.

:mod:`lowfloat.testing.vectors` writes test vectors in Berkeley TestFloat's
text format and checks an implementation's results written the same way.
"""

from . import vectors
from .vectors import (
    DTYPES,
    OPERATIONS,
    Mismatch,
    VectorFileError,
    Vectors,
    VectorSpec,
    VerifyReport,
    make_vectors,
    read_vectors,
    verify_vectors,
    write_vectors,
)

__all__ = list(vectors.__all__)  # the other modules of this package add theirs
