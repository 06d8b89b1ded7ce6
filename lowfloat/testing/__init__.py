"""Testing other people's casts and arithmetic against lowfloat: hard cases, a checker, strategies, test vectors.

lowfloat rounds bit-exactly and fast, so it can be the oracle for a cast
someone else wrote -- a CUDA or Triton kernel's CPU twin, a C or RTL model,
a library such as ml_dtypes or torch:

* :func:`hard_cases` -- the inputs where casts go wrong (TestFloat's "level
  1": ties, their neighbours, the overflow threshold, subnormals, signed
  zeros, infinities, NaNs), and level 2, every input of a 16-bit type;
  :func:`exhaustive_batches` walks all 2**32 float32 inputs;
* :func:`check_cast` -- runs a cast on hard, random or all inputs, compares
  it bit for bit with :func:`lowfloat.encode` and reports the mismatches by
  class (:data:`MISMATCH_CLASSES`), the first of each explained by
  :func:`lowfloat.explain`; :func:`assert_cast` is the same for pytest;
* :func:`formats`, :func:`codes`, :func:`values` -- hypothesis strategies
  that concentrate where casts go wrong (hypothesis is imported only when a
  strategy is built; the rest of this package does not need it);
* ``lowfloat check`` -- the checker from a shell, with adapters for
  ml_dtypes', torch's and numpy's own casts (:mod:`lowfloat.testing.adapters`);
* :func:`write_vectors`, :func:`verify_vectors` -- test vectors in Berkeley
  TestFloat's text format, results *and* IEEE exception flags, for casts and
  the six arithmetic operations, for implementations Python cannot call (RTL,
  C); ``lowfloat vectors`` and ``lowfloat verify`` from a shell
  (:mod:`lowfloat.testing.vectors`).

Inputs are float16, bfloat16, float32 or float64 arrays; NumPy has no
bfloat16, so bfloat16 inputs are float32 arrays holding bfloat16 values.

Examples
--------
>>> import numpy as np, lowfloat as lf
>>> from lowfloat.testing import check_cast
>>> def truncating_cast(x):                       # rounds toward zero instead of to nearest
...     return lf.encode(x, "e4m3", rounding="toward_zero")
>>> report = check_cast(truncating_cast, "e4m3", dtype="float32")
>>> report.ok, {kind: n for kind, n in report.counts.items() if n}
(False, {'tie': 118, 'subnormal': 36, 'overflow': 18, 'other': 238})
"""

from .cases import KINDS, exhaustive_batches, hard_cases, random_cases
from .check import assert_cast, check_cast
from .classify import MISMATCH_CLASSES
from .report import CastReport, Mismatch
from .strategies import codes, formats, values
from .vectors import (
    VECTOR_OPERATIONS,
    VectorFileError,
    VectorMismatch,
    Vectors,
    VectorSpec,
    VerifyReport,
    make_vectors,
    read_vectors,
    verify_vectors,
    write_vectors,
)

__all__ = [
    "hard_cases",
    "exhaustive_batches",
    "random_cases",
    "KINDS",
    "check_cast",
    "assert_cast",
    "CastReport",
    "Mismatch",
    "MISMATCH_CLASSES",
    "formats",
    "codes",
    "values",
    "VECTOR_OPERATIONS",
    "VectorSpec",
    "Vectors",
    "make_vectors",
    "write_vectors",
    "read_vectors",
    "verify_vectors",
    "VerifyReport",
    "VectorMismatch",
    "VectorFileError",
]
