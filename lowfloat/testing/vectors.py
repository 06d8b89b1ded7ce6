"""Test vectors in Berkeley TestFloat's text format, for implementations that Python cannot call.

A team testing an fp8 adder in RTL, or a float32 -> float16 cast in C, needs
the right answers without running lowfloat.  Berkeley TestFloat solved this
for IEEE formats: ``testfloat_gen`` writes cases as text, one per line -- the
operands in hex, the expected result in hex, the exception flags as two hex
digits (SoftFloat's bits: inexact 1, underflow 2, overflow 4, infinite 8,
invalid 16) -- and the team's harness reads them.  This module writes such
files for every lowfloat format, and reads an implementation's results back
in the same layout and checks every line::

    3F800001 3C00 01        float32 1 + 2**-23 -> float16 1.0, inexact
    7BFF 7BFF 7C00 05       float16 65504 + 65504 = inf, overflow | inexact

Operands
--------
``encode``
    One operand: the bits of a float of type ``dtype`` (float16, bfloat16,
    float32 or float64); the result is its code in ``fmt``.
``add``, ``sub``, ``mul``, ``div``, ``fma``, ``sqrt``
    Codes of ``fmt`` itself -- the inputs of a unit that computes in
    ``fmt`` -- and the code of the exact result rounded once into ``fmt``
    (:func:`lowfloat.add` ...).  ``fma`` is ``x * y + z``, operands in that
    order (TestFloat's ``mulAdd``).  float16, bfloat16 and float32 operands
    keep their quiet bit, so a signalling NaN operand raises INVALID as in
    IEEE 754; the other formats have one kind of NaN.

Levels (as TestFloat's ``-level``)
----------------------------------
1. Hard cases, then ``count`` random ones (default 10 000).  For ``encode``:
   :func:`~lowfloat.testing.hard_cases` (grid values, ties and the inputs
   either side of them, the overflow threshold, the subnormal boundaries,
   signed zeros, infinities, quiet and signalling NaNs) and the tininess
   threshold below the smallest normal, where the two tininess settings
   part; its random cases are :func:`~lowfloat.testing.random_cases`.  For the
   operations, TestFloat-style operands: combinations of special exponent
   fields (0, 1, around the bias, around half the range, the top ones) and
   significand patterns (0, 1, a half, all ones), of every sign, so that
   ties, carries, exact cancellation, overflow and subnormal results all
   occur; every pattern with itself and its negation; ``fma`` addends that
   cancel the product.
2. Exhaustive when the operands hold 16 bits or fewer together (every
   float16 or bfloat16 input, every pair of 8-bit codes); otherwise level
   1's hard cases and ``count`` random ones (default 2**20).

Random operands are half uniform random bits (NaNs, infinities and
subnormals included) and half values that matter to ``fmt``: inputs inside
its range, operands whose exponents are close.  A seed makes every file
reproducible.

A case whose correct result has no code -- a NaN in a format without NaN
(FP4, FP6): NaN input, ``0 / 0``, the square root of a negative number -- is
left out of the files, and :func:`verify_vectors` refuses such a line.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .. import reference
from ..codec import decode, encode
from ..formats import Format, get_format
from ..options import check_switch
from ..rounding import (
    DETERMINISTIC_MODES,
    FLAG_INEXACT,
    FLAG_INFINITE,
    FLAG_INVALID,
    FLAG_OVERFLOW,
    FLAG_UNDERFLOW,
    check_overflow,
    check_tininess,
    flag_names,
)
from .cases import hard_case_bits, random_cases
from .inputs import INPUT_TYPES, input_type

__all__ = [
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

#: The operations a vector file can hold, with their number of operands: casts and the arithmetic.
VECTOR_OPERATIONS = {"encode": 1, **reference.OPERATIONS}

#: Random cases added to the hard ones, by level.
RANDOM_CASES = {1: 10_000, 2: 1 << 20}

#: Level 2 is exhaustive when the operands of one case hold at most this many bits together.
EXHAUSTIVE_BITS = 16

_HEX = re.compile(r"[0-9A-Fa-f]+")
_FLAG_BITS = (FLAG_INVALID, FLAG_INFINITE, FLAG_OVERFLOW, FLAG_UNDERFLOW, FLAG_INEXACT)


# ------------------------------------------------------------------ the settings of one file


@dataclass(frozen=True)
class VectorSpec:
    """What one vector file holds: the operation, the formats and the rounding settings.

    The same settings must be given to write a file and to verify results
    against it (the file itself holds only hex numbers, as TestFloat's do).

    Attributes
    ----------
    fmt : Format
        The result's format (a name is looked up with :func:`lowfloat.get_format`).
    op : str
        One of :data:`VECTOR_OPERATIONS`.
    dtype : str or None
        ``encode`` only: the operand's float type, one of
        :data:`~lowfloat.testing.inputs.INPUT_TYPES` (aliases such as
        ``"fp32"`` and NumPy dtypes are accepted, as everywhere in
        :mod:`lowfloat.testing`).  The
        other operations read codes of ``fmt`` and take None (or ``fmt``'s
        own name).
    rounding : str
        A deterministic rounding mode (:data:`lowfloat.DETERMINISTIC_MODES`).
    tininess : {"after", "before"}
        When a result is tiny, for the underflow flag (x86: after, ARM: before).
    overflow : None, "saturate", "inf" or "nan"
        What an infinite result becomes (:mod:`lowfloat.rounding`).
    ftz, daz : bool
        Flush subnormal results to zero; subnormal inputs count as zero.

    Examples
    --------
    >>> spec = VectorSpec("fp16", "encode", dtype="fp32")
    >>> spec.dtype, spec.operand_bits, spec.describe()
    ('float32', (32,), 'encode float32 -> float16, nearest_even, tininess after')
    >>> VectorSpec("e4m3", "add", rounding="stochastic")
    Traceback (most recent call last):
    ...
    ValueError: test vectors need a deterministic rounding mode, one of nearest_even, ...; got 'stochastic'
    """

    fmt: Format
    op: str = "encode"
    dtype: str | None = None
    rounding: str = "nearest_even"
    tininess: str = "after"
    overflow: str | None = None
    ftz: bool = False
    daz: bool = False

    def __post_init__(self):
        fmt = get_format(self.fmt)
        object.__setattr__(self, "fmt", fmt)
        if self.op not in VECTOR_OPERATIONS:
            raise ValueError(f"unknown operation {self.op!r}; expected one of {', '.join(VECTOR_OPERATIONS)}")
        if self.op == "encode":
            if self.dtype is None:
                raise ValueError(f"encode needs the input dtype (--input), one of {', '.join(INPUT_TYPES)}")
            object.__setattr__(self, "dtype", input_type(self.dtype).name)
        elif self.dtype is not None:
            if not _names_format(self.dtype, fmt):
                raise ValueError(f"the operands of {self.op} are codes of {fmt.name}; an input dtype "
                                 f"(--input) applies to encode only, got {self.dtype!r}")  # fmt: skip
            object.__setattr__(self, "dtype", None)
        if self.rounding not in DETERMINISTIC_MODES:
            raise ValueError(f"test vectors need a deterministic rounding mode, one of "
                             f"{', '.join(DETERMINISTIC_MODES)}; got {self.rounding!r}")  # fmt: skip
        check_tininess(self.tininess)
        check_overflow(fmt, self.overflow)
        object.__setattr__(self, "ftz", check_switch("ftz", self.ftz))
        object.__setattr__(self, "daz", check_switch("daz", self.daz))

    @property
    def operand_bits(self) -> tuple[int, ...]:
        """The width of each operand in bits."""
        width = input_type(self.dtype).bits if self.op == "encode" else self.fmt.bits
        return (width,) * VECTOR_OPERATIONS[self.op]

    def describe(self) -> str:
        """One line naming the operation and the settings."""
        what = f"encode {self.dtype} -> {self.fmt.name}" if self.op == "encode" else f"{self.op} in {self.fmt.name}"
        extras = [f"overflow={self.overflow}"] if self.overflow else []
        extras += [name for name in ("ftz", "daz") if getattr(self, name)]
        return ", ".join([what, self.rounding, f"tininess {self.tininess}", *extras])

    def _rounding_options(self) -> dict:
        return dict(rounding=self.rounding, overflow=self.overflow, ftz=self.ftz, daz=self.daz, tininess=self.tininess)


def _names_format(text, fmt: Format) -> bool:
    """Whether ``text`` names ``fmt`` (an operation's operands may be described by their own format)."""
    try:
        return get_format(text) == fmt
    except (ValueError, TypeError):
        return False


# ------------------------------------------------------------------ bits and values


def _input_values(bits: np.ndarray, dtype: str) -> np.ndarray:
    """Input bits as the floats a cast reads, signalling NaNs kept (bfloat16 in float32, exactly)."""
    return input_type(dtype).from_bits(bits)


def _operand_values(codes: np.ndarray, fmt: Format) -> np.ndarray:
    """Codes of ``fmt`` as floats for :func:`lowfloat.add` ...; IEEE binary formats keep signalling NaNs."""
    if fmt.name in INPUT_TYPES:  # float16, bfloat16 and float32 codes are those input types' bits
        return _input_values(codes, fmt.name)
    return decode(codes.astype(fmt.code_dtype), fmt)


def _expected(spec: VectorSpec, operands: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lowfloat's result codes (uint64) and flags (uint8) for the operands, and which cases have a code at all.

    This is the one place that computes an expected line: :func:`make_vectors`
    and :func:`verify_vectors` both call it.
    """
    fmt = spec.fmt
    size = operands[0].size
    flags = np.zeros(size, np.uint8)
    if spec.op == "encode":
        values = _input_values(operands[0], spec.dtype)
        codable = ~np.isnan(values) if not fmt.has_nan else np.ones(size, bool)
        if not codable.all():  # NaN has no code here: compute the others, leave these out
            values = np.where(codable, values, values.dtype.type(0))
        codes = encode(values, fmt, flags=flags, **spec._rounding_options())
        return np.asarray(codes).astype(np.uint64), flags, codable
    from .. import arith

    values = [_operand_values(codes, fmt) for codes in operands]
    with np.errstate(invalid="ignore"):
        result = getattr(arith, spec.op)(*values, fmt, flags=flags, **spec._rounding_options())
    result = np.asarray(result)
    codable = ~np.isnan(result) if not fmt.has_nan else np.ones(size, bool)
    codes = encode(np.where(codable, result, 0.0), fmt)  # exact: the result is on fmt's grid
    return np.asarray(codes).astype(np.uint64), flags, codable


# ------------------------------------------------------------------ vectors


@dataclass(frozen=True)
class Vectors:
    """Test cases with lowfloat's answers: the operands' bits, the result codes and the flags.

    Attributes
    ----------
    spec : VectorSpec
    operands : tuple of ndarray of uint64
        One array per operand, each of ``len(self)`` bit patterns.
    results : ndarray of uint64
        The expected code of each case in ``spec.fmt``.
    flags : ndarray of uint8
        The expected exception flags (:data:`lowfloat.rounding.FLAG_INEXACT` ...).
    """

    spec: VectorSpec
    operands: tuple
    results: np.ndarray
    flags: np.ndarray

    def __len__(self) -> int:
        return int(self.results.size)

    def lines(self) -> Iterator[str]:
        """The cases as TestFloat lines: operands, result, flags in upper-case hex, no newline."""
        widths = [_hex_digits(bits) for bits in self.spec.operand_bits]
        result_width = _hex_digits(self.spec.fmt.bits)
        # one template per file: the operands' widths, the result's width, two flag digits
        template = " ".join([f"{{:0{w}X}}" for w in widths] + [f"{{:0{result_width}X}}", "{:02X}"])
        columns = [a.tolist() for a in self.operands] + [self.results.tolist(), self.flags.tolist()]
        for row in zip(*columns, strict=True):
            yield template.format(*row)


def _hex_digits(bits: int) -> int:
    return (bits + 3) // 4


def make_vectors(fmt, op: str = "encode", *, dtype=None, rounding: str = "nearest_even", tininess: str = "after",
                 overflow=None, ftz: bool = False, daz: bool = False, level: int = 1, count: int | None = None,
                 seed: int = 0) -> Vectors:  # fmt: skip
    """Test cases for one operation in one format, with lowfloat's results and flags.

    Parameters
    ----------
    fmt, op, dtype, rounding, tininess, overflow, ftz, daz
        As the attributes of :class:`VectorSpec`.
    level : {1, 2}
        1: hard cases and ``count`` random ones; 2: exhaustive for operands
        of at most 16 bits together, else hard cases and more random ones
        (see the module's docstring).
    count : int, optional
        Random cases to add (default 10 000 at level 1, 2**20 at level 2;
        none when level 2 is exhaustive).
    seed : int
        Seed of the random cases.

    Returns
    -------
    Vectors

    Raises
    ------
    ValueError
        An unknown operation, format, input dtype or rounding mode, a
        stochastic mode, a level other than 1 or 2, a negative count.

    Examples
    --------
    A tie in float16 (1 + 2**-11 lies halfway between 1 and 1 + 2**-10) and
    the first case beyond float16's range:

    >>> vectors = make_vectors("fp16", dtype="float32", count=0)
    >>> lines = set(vectors.lines())
    >>> "3F801000 3C00 01" in lines, "477FF000 7C00 05" in lines
    (True, True)
    >>> add = make_vectors("e4m3", "add", level=2)   # every pair of E4M3 codes
    >>> len(add), next(iter(add.lines()))
    (65536, '00 00 00 00')
    """
    spec = VectorSpec(fmt, op, dtype=dtype, rounding=rounding, tininess=tininess, overflow=overflow, ftz=ftz,
                      daz=daz)  # fmt: skip
    if level not in (1, 2) or isinstance(level, bool):
        raise ValueError(f"level must be 1 or 2, got {level!r}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0):
        raise ValueError(f"count must be a non-negative int, got {count!r}")
    rng = np.random.default_rng(seed)
    if level == 2 and sum(spec.operand_bits) <= EXHAUSTIVE_BITS:
        operands = _exhaustive(spec.operand_bits)
        extra = () if count is None else _random_operands(spec, int(count), rng)
        if extra:
            operands = tuple(np.concatenate(pair) for pair in zip(operands, extra, strict=True))
    else:
        hard = _hard_operands(spec, rng)
        random = _random_operands(spec, RANDOM_CASES[level] if count is None else int(count), rng)
        operands = tuple(np.concatenate(pair) for pair in zip(hard, random, strict=True))
    results, flags, codable = _expected(spec, operands)
    return Vectors(spec, tuple(a[codable] for a in operands), results[codable], flags[codable])


def write_vectors(target, fmt, op: str = "encode", **options) -> int:
    """Write :func:`make_vectors`'s cases to a file, in TestFloat's text format.

    Parameters
    ----------
    target : str, os.PathLike or text stream
        A path (overwritten) or an open text file such as ``sys.stdout``.
    fmt, op, **options
        As :func:`make_vectors`.

    Returns
    -------
    int
        The number of lines written.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> write_vectors(out, "e2m1", "mul", level=2)   # all 256 products of two FP4 codes
    256
    >>> out.getvalue().splitlines()[0x17]           # 0.5 * 6 = 3, exact
    '1 7 5 00'
    """
    vectors = make_vectors(fmt, op, **options)
    if isinstance(target, (str, os.PathLike)):
        with open(target, "w", encoding="ascii") as file:
            _write_lines(file, vectors)
    else:
        _write_lines(target, vectors)
    return len(vectors)


def _write_lines(file, vectors: Vectors, chunk: int = 1 << 16) -> None:
    batch = []
    for line in vectors.lines():
        batch.append(line)
        if len(batch) == chunk:
            file.write("\n".join(batch) + "\n")
            batch = []
    if batch:
        file.write("\n".join(batch) + "\n")


# ------------------------------------------------------------------ hard cases


def _exhaustive(widths: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Every combination of operands of these widths, the first operand varying slowest."""
    total = sum(widths)
    index = np.arange(1 << total, dtype=np.uint64)
    operands, shift = [], total
    for width in widths:
        shift -= width
        operands.append((index >> np.uint64(shift)) & np.uint64((1 << width) - 1))
    return tuple(operands)


def _hard_operands(spec: VectorSpec, rng) -> tuple[np.ndarray, ...]:
    if spec.op == "encode":
        return (_cast_hard_inputs(spec.fmt, spec.dtype),)
    return _op_hard_operands(spec.fmt, spec.op, rng)


def _cast_hard_inputs(fmt: Format, dtype: str) -> np.ndarray:
    """Level 1 of ``encode``: :func:`~lowfloat.testing.hard_case_bits` (the tininess threshold included)."""
    return hard_case_bits(fmt, input_type(dtype)).astype(np.uint64)


def _mantissa_patterns(m: int, small: bool) -> list[int]:
    """Significand fields that make carries and ties: 0, 1, a half, all ones (and, unless small, more)."""
    if m == 0:
        return [0]
    ones, half = (1 << m) - 1, 1 << (m - 1)
    found = {0, 1, half, ones}
    if not small:
        found |= {2, 3, half - 1, half + 1, ones - 1, ones - 2, ones & 0x555555, ones & 0xAAAAAA}
        found |= {1 << k for k in range(m)} | {ones >> k for k in range(m)}
    return sorted(p for p in found if 0 <= p <= ones)


def _exponent_fields(fmt: Format) -> list[int]:
    """Exponent fields where arithmetic goes wrong: the bottom, around the bias, half the range, the top."""
    m, bias, top = fmt.man_bits, fmt.bias, fmt.exp_field_max
    fields = {0, 1, 2, bias - m - 2, bias - m - 1, bias - 1, bias, bias + 1, bias + m + 1,
              bias // 2, bias + (top - bias) // 2, bias + (top - bias) // 2 + 1, top - 2, top - 1, top}  # fmt: skip
    return sorted(f for f in fields if 0 <= f <= top)


def _codes(signs, fields, mantissas, fmt: Format) -> np.ndarray:
    """Codes from sign bits, exponent fields and mantissa fields (int arrays or ints), as uint64."""
    signs, fields, mantissas = (np.asarray(a, np.int64).astype(np.uint64) for a in (signs, fields, mantissas))
    # in uint64 throughout: a 64-bit format's sign bit is 2**63
    return (signs * np.uint64(fmt.sign_code)) | (fields << np.uint64(fmt.man_bits)) | mantissas


def _op_hard_operands(fmt: Format, op: str, rng) -> tuple[np.ndarray, ...]:
    """TestFloat-style operands of an operation in ``fmt`` (level 1)."""
    m = fmt.man_bits
    fields = np.array(_exponent_fields(fmt), np.int64)
    signs = np.array([0, 1] if fmt.signed else [0], np.int64)
    # 1) every special exponent field with every significand pattern, of both signs
    full = np.array(_mantissa_patterns(m, small=False), np.int64)
    singles = _codes(*(a.ravel() for a in np.meshgrid(signs, fields, full, indexing="ij")), fmt)
    if op == "sqrt":  # one operand: every exponent field with every pattern
        every_field = np.arange(fmt.exp_field_max + 1, dtype=np.int64)
        grid = np.meshgrid(signs, every_field, full, indexing="ij")
        return (np.unique(np.concatenate([singles, _codes(*(a.ravel() for a in grid), fmt)])),)
    # 2) operands built from the small patterns: every pair of them; a seeded sample of the triples
    small = np.array(_mantissa_patterns(m, small=True), np.int64)
    simple = _codes(*(a.ravel() for a in np.meshgrid(signs, fields, small, indexing="ij")), fmt)
    count = VECTOR_OPERATIONS[op]
    sample_size = 1 << 14
    if count == 2:
        first, second = (a.ravel() for a in np.meshgrid(simple, simple, indexing="ij"))
        structured = [first, second]
    else:
        structured = [simple[rng.integers(0, simple.size, 4 * sample_size)] for _ in range(3)]
    # 3) a seeded sample of tuples of the full patterns
    sample = [singles[rng.integers(0, singles.size, sample_size)] for _ in range(count)]
    if count == 2:  # and each pattern with itself and with its negation: doubling, exact cancellation
        negated = singles ^ np.uint64(fmt.sign_code)
        tuples = [structured, [singles, singles], [singles, negated], sample]
    else:  # fma: z = +-0, and z cancelling the rounded product
        x, y = sample[0], sample[1]
        cancel = np.asarray(encode(_mul_rounded(x, y, fmt), fmt)).astype(np.uint64) ^ np.uint64(fmt.sign_code)
        zeros = rng.integers(0, 2, x.size).astype(np.uint64) * np.uint64(fmt.sign_code)
        tuples = [structured, [x, y, cancel], [x, y, zeros], sample]
    return tuple(np.concatenate([t[i] for t in tuples]) for i in range(count))


def _mul_rounded(x: np.ndarray, y: np.ndarray, fmt: Format) -> np.ndarray:
    """The products of codes rounded into ``fmt``, NaN replaced by 0 (an addend to cancel a product with)."""
    from ..arith import mul

    with np.errstate(invalid="ignore"):
        product = np.asarray(mul(decode(x.astype(fmt.code_dtype), fmt), decode(y.astype(fmt.code_dtype), fmt), fmt))
    return np.where(np.isnan(product), 0.0, product)


# ------------------------------------------------------------------ random cases


def _random_operands(spec: VectorSpec, count: int, rng) -> tuple[np.ndarray, ...]:
    """``count`` random cases: half uniform random bits, half values that matter to ``spec.fmt``."""
    uniform = count // 2
    chosen = count - uniform
    bits = [rng.integers(0, 1 << width, uniform, dtype=np.uint64) for width in spec.operand_bits]
    if spec.op == "encode":  # lowfloat.testing's random inputs for a cast (in range, near the hard cases)
        source = input_type(spec.dtype)
        chosen_inputs = random_cases(spec.fmt, source, chosen, seed=int(rng.integers(1 << 32)))
        near = (source.to_bits(chosen_inputs).astype(np.uint64),)
    else:
        near = _random_close_operands(spec.fmt, spec.op, chosen, rng)
    return tuple(np.concatenate([a, b]) for a, b in zip(bits, near, strict=True))


def _random_close_operands(fmt: Format, op: str, count: int, rng) -> tuple[np.ndarray, ...]:
    """Random operands whose exponents are close enough to interact: alignment, carries, cancellation."""
    m, bias = fmt.man_bits, fmt.bias
    top = fmt.max_code_magnitude >> m  # the largest exponent field of finite values
    spread = m + 3

    def near(center):
        return center + rng.integers(-spread, spread + 1, count)

    def operand(fields):
        fields = np.clip(fields, 0, top)
        mantissas = rng.integers(0, 1 << m, count) if m else np.zeros(count, np.int64)
        signs = rng.integers(0, 2, count) if fmt.signed else np.zeros(count, np.int64)
        magnitudes = np.minimum(_codes(0, fields, mantissas, fmt), np.uint64(fmt.max_code_magnitude))
        return magnitudes | _codes(signs, 0, 0, fmt)

    x_fields = rng.integers(0, top + 1, count)
    if op == "sqrt":
        return (operand(x_fields),)
    if op in ("add", "sub"):
        return operand(x_fields), operand(near(x_fields))
    # a factor near 1 keeps the result near x, which ranges over every binade
    y_fields = near(bias)
    if op in ("mul", "div"):
        return operand(x_fields), operand(y_fields)
    return operand(x_fields), operand(y_fields), operand(near(x_fields + y_fields - bias))


# ------------------------------------------------------------------ reading and verifying


class VectorFileError(ValueError):
    """A line of a vector file that cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class VectorMismatch:
    """One line whose result or flags differ from lowfloat's.

    Attributes
    ----------
    source : str        the file's name
    line : int          its line number, from 1
    operands : tuple    the operands' bits
    result, expected : int          the line's result code and lowfloat's
    flags, expected_flags : int     the line's flags and lowfloat's
    kind : str          what kind of difference (see :class:`VerifyReport`)
    """

    source: str
    line: int
    operands: tuple
    result: int
    expected: int
    flags: int
    expected_flags: int
    kind: str


@dataclass
class VerifyReport:
    """What :func:`verify_vectors` found: the totals and every mismatch, grouped by kind.

    Result mismatches are grouped as ``"NaN/inf"`` (a NaN or infinity on
    either side, or among the operands), ``"sign of zero"``, ``"overflow"``
    (either side at ``+-max``, or lowfloat's flags say OVERFLOW),
    ``"subnormal"`` (either side a subnormal, or lowfloat's flags say UNDERFLOW),
    ``"one ulp"`` (neighbouring codes of one sign) and ``"other"``; flag
    mismatches by the flags missing and extra (``"missing underflow"``).

    Attributes
    ----------
    spec : VectorSpec
    sources : list of str
    cases : int
        Lines read.
    results : list of VectorMismatch
        Lines whose result differs (NaN equals NaN, whatever its code).
    flags : list of VectorMismatch
        Lines whose flags differ.
    show : int
        How many mismatches of each kind ``str()`` lists.
    """

    spec: VectorSpec
    sources: list
    cases: int
    results: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    show: int = 5

    @property
    def ok(self) -> bool:
        """Whether every result and every flag equals lowfloat's."""
        return not self.results and not self.flags

    def __str__(self) -> str:
        files = f"{len(self.sources)} file{'s' * (len(self.sources) != 1)}"
        lines = [f"{self.spec.describe()}: {files}, {self.cases} case{'s' * (self.cases != 1)}"]
        if self.ok:
            lines.append(f"all {self.cases} results and flags equal lowfloat's")
            return "\n".join(lines)
        for noun, found in (("results", self.results), ("flags", self.flags)):
            lines.append(f"{noun}: {self.cases - len(found)} equal, {len(found)} differ")
            for kind, group in _grouped(found):
                lines.append(f"  {kind} ({len(group)} case{'s' * (len(group) != 1)}):")
                lines += ["    " + self._describe(mismatch, noun) for mismatch in group[:self.show]]
                if len(group) > self.show:
                    lines.append(f"    ... and {len(group) - self.show} more")
        return "\n".join(lines)

    def _describe(self, mismatch: VectorMismatch, noun: str) -> str:
        spec = self.spec
        widths = [_hex_digits(bits) for bits in spec.operand_bits]
        digits = _hex_digits(spec.fmt.bits)
        operands = " ".join(f"{bits:0{w}X}" for bits, w in zip(mismatch.operands, widths, strict=True))
        where = f"{mismatch.source}:{mismatch.line}: {operands}"
        if noun == "flags":
            return (f"{where} -> flags {mismatch.flags:02X} ({flag_names(mismatch.flags)}), "
                    f"expected {mismatch.expected_flags:02X} ({flag_names(mismatch.expected_flags)})")  # fmt: skip
        got, expected = (float(decode(c, spec.fmt)) for c in (mismatch.result, mismatch.expected))
        text = (f"{where} -> {mismatch.result:0{digits}X} ({got!r}), "
                f"expected {mismatch.expected:0{digits}X} ({expected!r})")  # fmt: skip
        if spec.op == "encode" and not (spec.ftz or spec.daz):  # how lowfloat's answer came about, exactly
            from ..explain import explain

            x = _input_values(np.array([mismatch.operands[0]], np.uint64), spec.dtype).astype(np.float64)[0]
            if math.isfinite(x):
                text += f": {explain(float(x), spec.fmt, rounding=spec.rounding, overflow=spec.overflow).decision}"
        return text


def _grouped(mismatches: list) -> list[tuple[str, list]]:
    """Mismatches by kind, kinds in their order of first appearance."""
    groups: dict[str, list] = {}
    for mismatch in mismatches:
        groups.setdefault(mismatch.kind, []).append(mismatch)
    return list(groups.items())


def read_vectors(source, spec: VectorSpec, name: str | None = None):
    """Parse a file of TestFloat lines for ``spec``: operands, results and flags, with line numbers.

    Parameters
    ----------
    source : str, os.PathLike or text stream
    spec : VectorSpec
        Says how many operands a line has and how wide each field is.
    name : str, optional
        The name used in messages (default: the path, or ``"<stream>"``).

    Returns
    -------
    (operands, results, flags, line_numbers)
        A tuple of uint64 arrays (one per operand), the uint64 result codes,
        the uint8 flags and the int64 line numbers of the cases (blank lines
        are skipped).

    Raises
    ------
    VectorFileError
        A line with the wrong number of fields, a field that is not hex, or
        a number too wide for its field; the message gives the file and the line.
    OSError
        The file cannot be read.
    """
    if isinstance(source, (str, os.PathLike)):
        name = name or os.fspath(source)
        with open(source, encoding="ascii", errors="replace") as file:
            text = file.read()
    else:
        name = name or getattr(source, "name", "<stream>")
        text = source.read()
    widths = [*spec.operand_bits, spec.fmt.bits, 5]  # flags: five bits
    parsed = _read_fixed_width(text, widths)
    if parsed is None:
        parsed = _read_lines(text, widths, spec, name)
    table, numbers = parsed
    if not table.shape[0]:
        raise VectorFileError(f"{name}: no cases (an empty file passes nothing)")
    operands = tuple(table[:, i].copy() for i in range(len(spec.operand_bits)))
    return operands, table[:, -2].copy(), table[:, -1].astype(np.uint8), numbers


# the value of each ASCII character as a hex digit; -1 for the others
_NIBBLES = np.full(256, -1, np.int8)
for _digit in "0123456789abcdefABCDEF":
    _NIBBLES[ord(_digit)] = int(_digit, 16)
del _digit


def _read_fixed_width(text: str, widths: list[int]):
    """The fast path for files as :func:`write_vectors` writes them: every line of the same fixed-width
    layout, one space apart.  Returns (table, line numbers), or None when the text is laid out otherwise.
    """
    digits = [_hex_digits(width) for width in widths]
    length = sum(digits) + len(digits)  # the fields, the spaces between them and the newline
    try:
        data = np.frombuffer(text.encode("ascii"), np.uint8)
    except UnicodeEncodeError:
        return None
    if not data.size or data.size % length:
        return None
    records = data.reshape(-1, length)
    ends = np.cumsum(np.array(digits) + 1) - 1  # the space after each field, the newline after the last
    if (records[:, ends[:-1]] != ord(" ")).any() or (records[:, ends[-1]] != ord("\n")).any():
        return None
    nibbles = _NIBBLES[records]
    table = np.zeros((records.shape[0], len(widths)), np.uint64)
    for column, (end, count, width) in enumerate(zip(ends, digits, widths, strict=True)):
        field_nibbles = nibbles[:, end - count:end]
        if (field_nibbles < 0).any():
            return None
        for k in range(count):
            table[:, column] = (table[:, column] << np.uint64(4)) | field_nibbles[:, k].astype(np.uint64)
        if (table[:, column] >> np.uint64(width)).any():
            return None  # out of range: the slow path says where
    return table, np.arange(1, records.shape[0] + 1, dtype=np.int64)


def _read_lines(text: str, widths: list[int], spec: VectorSpec, name: str):
    """Any whitespace between fields, any number of digits, blank lines; every bad line refused by number."""
    labels = [f"operand {i + 1}" for i in range(len(spec.operand_bits))] + ["result", "flags"]
    rows, numbers = [], []
    for number, line in enumerate(io.StringIO(text), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(widths):
            raise VectorFileError(f"{name}:{number}: expected {len(widths)} fields ({_layout(spec)}), "
                                  f"got {len(fields)}: {line.strip()!r}")  # fmt: skip
        row = []
        for text_field, width, label in zip(fields, widths, labels, strict=True):
            if not _HEX.fullmatch(text_field):
                raise VectorFileError(f"{name}:{number}: {label} {text_field!r} is not a hex number")
            value = int(text_field, 16)
            if value >> width:
                limit = "at most 1F: five flag bits" if label == "flags" else f"{width} bits"
                raise VectorFileError(f"{name}:{number}: {label} {text_field} is out of range ({limit})")
            row.append(value)
        rows.append(row)
        numbers.append(number)
    return np.array(rows, np.uint64).reshape(len(rows), len(widths)), np.array(numbers, np.int64)


def _layout(spec: VectorSpec) -> str:
    count = len(spec.operand_bits)
    kind = spec.dtype if spec.op == "encode" else spec.fmt.name
    return f"{count} operand{'s' * (count > 1)} ({kind}), the result ({spec.fmt.name}), the flags"


def verify_vectors(sources, fmt, op: str = "encode", *, dtype=None, rounding: str = "nearest_even",
                   tininess: str = "after", overflow=None, ftz: bool = False, daz: bool = False,
                   show: int = 5) -> VerifyReport:  # fmt: skip
    """Check an implementation's results, written as TestFloat lines, against lowfloat's.

    Every line is recomputed from its operands; its result must equal
    lowfloat's code (any NaN code equals any other) and its flags
    lowfloat's flags.

    Parameters
    ----------
    sources : path, text stream, or a list of them
        Files in the layout :func:`write_vectors` writes.
    fmt, op, dtype, rounding, tininess, overflow, ftz, daz
        The settings the results were computed with (:class:`VectorSpec`).
    show : int
        How many mismatches of each kind ``str(report)`` lists.

    Returns
    -------
    VerifyReport
        ``.ok`` is True when everything is equal; ``str()`` is the summary.

    Raises
    ------
    VectorFileError
        A malformed line (the message names the file and the line), or a
        line whose correct result has no code in ``fmt``.
    OSError
        A file cannot be read.

    Examples
    --------
    >>> import io
    >>> report = verify_vectors(io.StringIO("3C00 3C00 4000 00\\n3C00 1000 3C00 00\\n"), "fp16", "add")
    >>> print(report)
    add in float16, nearest_even, tininess after: 1 file, 2 cases
    results: 2 equal, 0 differ
    flags: 1 equal, 1 differ
      missing inexact (1 case):
        <stream>:2: 3C00 1000 -> flags 00 (none), expected 01 (inexact)
    """
    spec = VectorSpec(fmt, op, dtype=dtype, rounding=rounding, tininess=tininess, overflow=overflow, ftz=ftz,
                      daz=daz)  # fmt: skip
    if isinstance(sources, (str, os.PathLike)) or hasattr(sources, "read"):
        sources = [sources]
    names, parts = [], []
    for index, source in enumerate(sources):
        name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else getattr(source, "name", "<stream>")
        if name in names:
            name = f"{name}#{index + 1}"
        names.append(name)
        parts.append(read_vectors(source, spec, name=name))
    report = VerifyReport(spec, names, sum(p[1].size for p in parts), show=show)
    for name, (operands, results, flags, numbers) in zip(names, parts, strict=True):
        _compare(spec, name, operands, results, flags, numbers, report)
    return report


def _compare(spec, name, operands, results, flags, numbers, report: VerifyReport) -> None:
    """Add one file's mismatches to the report."""
    if not results.size:
        return
    expected, expected_flags, codable = _expected(spec, operands)
    if not codable.all():
        line = numbers[np.flatnonzero(~codable)[0]]
        raise VectorFileError(f"{name}:{line}: the correct result is NaN, which {spec.fmt.name} cannot hold: "
                              "such cases have no line")  # fmt: skip
    fmt = spec.fmt
    got, want = (decode(codes.astype(fmt.code_dtype), fmt) for codes in (results, expected))
    result_bad = (results != expected) & ~(np.isnan(got) & np.isnan(want))
    flags_bad = flags != expected_flags
    bad = np.flatnonzero(result_bad | flags_bad)
    kinds = _result_kinds(spec, tuple(a[bad] for a in operands), results[bad], expected[bad], got[bad], want[bad],
                          expected_flags[bad])  # fmt: skip
    flag_kinds = {}  # each (flags, expected) pair named once
    for i, kind in zip(bad.tolist(), kinds, strict=True):
        args = (name, int(numbers[i]), tuple(int(a[i]) for a in operands), int(results[i]), int(expected[i]),
                int(flags[i]), int(expected_flags[i]))  # fmt: skip
        if result_bad[i]:
            report.results.append(VectorMismatch(*args, kind=kind))
        if flags_bad[i]:
            pair = args[-2:]
            flag_kinds.setdefault(pair, _flag_kind(*pair))
            report.flags.append(VectorMismatch(*args, kind=flag_kinds[pair]))


def _result_kinds(spec: VectorSpec, operands, results, expected, got, want, expected_flags) -> list[str]:
    """The kind of each result mismatch, for grouping (see :class:`VerifyReport`); the first that applies."""
    fmt = spec.fmt
    if spec.op == "encode":
        inputs = [_input_values(operands[0], spec.dtype)]
    else:
        inputs = [_operand_values(codes, fmt) for codes in operands]
    with np.errstate(invalid="ignore"):
        special = ~np.isfinite(got) | ~np.isfinite(want)
        for values in inputs:
            special |= ~np.isfinite(values.astype(np.float64))
        magnitude_mask = np.uint64(fmt.sign_code - 1 if fmt.signed else (1 << fmt.bits) - 1)
        step = np.abs((results & magnitude_mask).astype(np.int64) - (expected & magnitude_mask).astype(np.int64))
        same_sign = ((results ^ expected) & np.uint64(fmt.sign_code)) == 0
        tiny = ((0 < np.abs(got)) & (np.abs(got) < fmt.smallest_normal)) | (
            (0 < np.abs(want)) & (np.abs(want) < fmt.smallest_normal))
        conditions = [
            ("NaN/inf", special),
            ("sign of zero", (got == 0) & (want == 0)),
            ("overflow", (np.abs(got) == fmt.max) | (np.abs(want) == fmt.max) | (expected_flags & FLAG_OVERFLOW > 0)),
            ("subnormal", tiny | (expected_flags & FLAG_UNDERFLOW > 0)),
            ("one ulp", same_sign & (step == 1)),
        ]  # fmt: skip
    kinds = np.full(results.size, "other", dtype=object)
    for kind, where in reversed(conditions):  # the first condition in the list wins
        kinds[where] = kind
    return kinds.tolist()


def _flag_kind(flags: int, expected: int) -> str:
    """``"missing underflow"``, ``"extra inexact"``, or both joined, for grouping."""
    missing = [flag_names(bit) for bit in _FLAG_BITS if expected & bit and not flags & bit]
    extra = [flag_names(bit) for bit in _FLAG_BITS if flags & bit and not expected & bit]
    parts = ([f"missing {'|'.join(missing)}"] if missing else []) + ([f"extra {'|'.join(extra)}"] if extra else [])
    return ", ".join(parts)
