"""Deterministic hard cases for a cast, and the exhaustive and random input sets.

Berkeley TestFloat tests a conversion at "level 1" with inputs built from
the places where conversions go wrong, and at "level 2" with many more.
:func:`hard_cases` does the same for a lowfloat format and an input type
(float16, bfloat16, float32 or float64).  Level 1 holds, for both signs,
each of the :data:`KINDS`:

=================  ============================================================================
``zero``           +0 and -0
``grid``           values of the format (every one for formats of up to 16 bits, else every
                   exponent with a fixed sample of significands: the extremes, single bits,
                   runs of ones, alternating bits and a few seeded random ones)
``midpoint``       the ties halfway between neighbouring values of the format
``near_midpoint``  the input values just below and just above each tie (one input ulp away
                   when the tie is itself an input value): the inputs double rounding breaks
``boundary``       the smallest normal of the format and of the input type, the largest
                   subnormals, the smallest input subnormal, the tininess threshold just
                   below the smallest normal (where tininess before and after rounding
                   differ), and their neighbours
``tiny``           inputs below half the smallest subnormal (they round to zero)
``overflow``       ``max``, the overflow threshold ``max + ulp(max)/2``, the next grid value
                   ``max + ulp(max)``, ``2 max`` and the largest input, with their neighbours
``inf``            +inf and -inf
``nan``            quiet NaNs (the default one and one with a payload)
``snan``           signalling NaNs (quiet bit clear)
=================  ============================================================================

Only inputs the input type holds exactly are kept: float16 inputs into
bfloat16 have no midpoints, for instance.  Level 2 is every bit pattern of
a 16-bit input type; for float32 (2**32 inputs, 16 GiB) iterate over
:func:`exhaustive_batches`.  :func:`random_cases` draws reproducible random
inputs concentrated on the same places.

Examples
--------
>>> import numpy as np
>>> from lowfloat.testing import hard_cases
>>> x = hard_cases("e4m3", "float32", kinds=["overflow"])
>>> sorted(float(v) for v in x if 0 < v < 1e4)[:8]
[416.0, 447.99997, 448.0, 448.00003, 463.99997, 464.0, 464.00003, 479.99997]
>>> hard_cases("e4m3", "float64").size, hard_cases("e4m3", "float16", level=2).size
(1088, 65536)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..codec import decode, encode
from ..formats import Format, get_format
from .grid import grid_neighbours
from .inputs import InputType, input_type

__all__ = ["KINDS", "hard_cases", "hard_case_bits", "exhaustive_batches", "random_cases"]

#: The kinds of hard case, in the order :func:`hard_cases` lists them.
KINDS = ("zero", "grid", "midpoint", "near_midpoint", "boundary", "tiny", "overflow", "inf", "nan", "snan")

#: Formats up to this many bits have every code enumerated; wider ones are sampled per exponent.
_ENUMERATED_BITS = 16


def hard_cases(fmt, dtype="float32", level: int = 1, *, kinds=None) -> np.ndarray:
    """The hard cases of casting ``dtype`` inputs into ``fmt``, as one array (see the module docstring).

    Parameters
    ----------
    fmt : Format or str
        The target format.
    dtype : str or numpy dtype
        The input type: float16, bfloat16, float32 or float64.
    level : {1, 2}
        1: the hard cases of :data:`KINDS`.  2: every bit pattern of a
        16-bit input type, in order.
    kinds : sequence of str, optional
        Level 1 only: just these kinds (default: all of :data:`KINDS`).

    Returns
    -------
    ndarray
        1-D, of the input's own dtype -- float16, float32 or float64; for
        **bfloat16, float32 holding bfloat16 values** (NumPy has no bfloat16;
        the widening is exact).  Level 1 lists the kinds in order, positive
        before negative, each input once.

    Raises
    ------
    ValueError
        An unknown format, input type or kind; a level other than 1 or 2;
        level 2 for float32 (2**32 inputs: use :func:`exhaustive_batches`)
        or float64.

    Examples
    --------
    >>> import numpy as np
    >>> from lowfloat.testing import hard_cases
    >>> hard_cases("fp4", "float32", kinds=["midpoint"]).tolist()
    [0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, -0.25, -0.75, -1.25, -1.75, -2.5, -3.5, -5.0]
    >>> hard_cases("e4m3", "bfloat16").dtype            # bfloat16 values, carried in float32
    dtype('float32')
    """
    return input_type(dtype).from_bits(hard_case_bits(fmt, dtype, level, kinds=kinds).copy())  # the caller's own


def hard_case_bits(fmt, dtype="float32", level: int = 1, *, kinds=None) -> np.ndarray:
    """The bit patterns (in the input type) of :func:`hard_cases`: a read-only unsigned array."""
    fmt, source = get_format(fmt), input_type(dtype)
    if isinstance(level, bool) or level not in (1, 2):
        raise ValueError(f"level must be 1 (the hard cases) or 2 (exhaustive), got {level!r}")
    if level == 2:
        if kinds is not None:
            raise ValueError("kinds= selects among the hard cases of level 1; level 2 is every input")
        if source.bits > 16:
            hint = "iterate over exhaustive_batches('float32')" if source.bits == 32 else "use random cases"
            raise ValueError(f"level 2 lists every input, 2**{source.bits} for {source.name}: {hint} instead")
        bits = np.arange(1 << source.bits, dtype=source.uint)
        bits.flags.writeable = False
        return bits
    kinds = KINDS if kinds is None else _check_kinds(kinds)
    return _union(fmt, source, kinds)


def _check_kinds(kinds) -> tuple:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise ValueError(f"unknown kind {unknown[0]!r}; kinds are {', '.join(KINDS)}")
    return kinds


@lru_cache(maxsize=64)
def _union(fmt: Format, source: InputType, kinds: tuple) -> np.ndarray:
    """The bit patterns of these kinds in order, each once, read-only."""
    joined = np.concatenate([_kind_bits(fmt, source, kind) for kind in kinds])
    _, first = np.unique(joined, return_index=True)
    bits = joined[np.sort(first)]
    bits.flags.writeable = False
    return bits


# ------------------------------------------------------------------ the kinds


@lru_cache(maxsize=256)
def _kind_bits(fmt: Format, source: InputType, kind: str) -> np.ndarray:
    """The bit patterns of one kind: the positive ones, then the same with the sign bit set."""
    positive = np.unique(_KIND_BUILDERS[kind](fmt, source)).astype(source.uint)
    bits = np.concatenate([positive, positive | source.uint.type(source.sign_bit)])
    bits.flags.writeable = False
    return bits


def _finite_codes(fmt: Format) -> np.ndarray:
    """Codes of positive finite values of ``fmt`` (zero excluded): all of them, or a sample per exponent."""
    first = 1 if fmt.has_zero else 0
    if fmt.bits <= _ENUMERATED_BITS:
        return np.arange(first, fmt.max_code_magnitude + 1, dtype=np.int64)
    exponents = np.arange(0, (fmt.max_code_magnitude >> fmt.man_bits) + 1, dtype=np.int64)
    codes = (exponents[:, None] << fmt.man_bits) | _mantissa_sample(fmt.man_bits)[None, :]
    codes = codes.ravel()
    return codes[(codes >= first) & (codes <= fmt.max_code_magnitude)]


def _mantissa_sample(man_bits: int) -> np.ndarray:
    """Significand fields TestFloat-style: the extremes, single bits, runs of ones, alternating bits, random."""
    top = (1 << man_bits) - 1
    fields = {0, 1, 2, 3, top, top - 1, top - 2, top - 3}
    fields |= {1 << k for k in range(man_bits)} | {(1 << k) - 1 for k in range(man_bits + 1)}
    fields |= {top - ((1 << k) - 1) for k in range(man_bits + 1)}
    fields |= {int("01" * man_bits, 2) & top, int("10" * man_bits, 2) & top}
    rng = np.random.default_rng(man_bits)  # fixed: the same sample every run
    fields |= {int(v) for v in rng.integers(0, top + 1, size=8)}
    return np.array(sorted(f for f in fields if 0 <= f <= top), dtype=np.int64)


def _values(codes, fmt: Format) -> np.ndarray:
    return decode(np.asarray(codes, dtype=fmt.code_dtype), fmt, dtype=np.float64)


# Bit patterns of positive inputs fit int64 for every input type (float64's sign bit is bit 63),
# so the helpers below compute with int64 and let _kind_bits add the signs.


def _positive_targets(targets) -> np.ndarray:
    targets = np.asarray(targets, dtype=np.float64)
    return targets[(targets > 0) & np.isfinite(targets)]


def _exact_bits(targets, source: InputType) -> np.ndarray:
    """Bit patterns of the positive finite targets the input type holds exactly."""
    targets = _positive_targets(targets)
    if source.fmt is None:
        return targets.view(np.uint64).astype(np.int64)
    codes = encode(targets, source.fmt, rounding="toward_zero")
    return codes[decode(codes, source.fmt, dtype=np.float64) == targets].astype(np.int64)


def _around_bits(targets, source: InputType) -> tuple[np.ndarray, np.ndarray]:
    """For positive finite targets: bit patterns of the largest input below and the smallest input above."""
    targets = _positive_targets(targets)
    if source.fmt is None:
        bits = targets.view(np.uint64).astype(np.int64)
        return bits - 1, bits + 1
    down = encode(targets, source.fmt, rounding="toward_zero").astype(np.int64)
    up = encode(targets, source.fmt, rounding="toward_positive").astype(np.int64)
    exact = down == up
    return np.where(exact, down - 1, down), np.where(exact, up + 1, up)


def _finite_positive(bits, source: InputType) -> np.ndarray:
    """The bit patterns (int64) of positive finite nonzero inputs among ``bits``."""
    bits = np.asarray(bits, dtype=np.int64)
    return bits[(bits > 0) & (bits < source.inf_bits)]


def _input_values(bits, source: InputType) -> np.ndarray:
    """The values of positive finite bit patterns (int64), as float64."""
    return source.from_bits(np.asarray(bits).astype(source.uint)).astype(np.float64)


def _with_neighbours(targets, source: InputType) -> np.ndarray:
    """Each positive target the input type holds, and the inputs just below and above it."""
    below, above = _around_bits(targets, source)
    return _finite_positive(np.concatenate([_exact_bits(targets, source), below, above]), source)


def _zero(fmt, source):
    return np.zeros(1, np.int64)


def _grid(fmt, source):
    bits = _exact_bits(_values(_finite_codes(fmt), fmt), source)
    if source.bits <= 16:
        # a 16-bit input type has few values: take every one on the format's grid, however wide the format
        every = np.arange(1, source.inf_bits, dtype=np.int64)
        values = _input_values(every, source)
        lo, _, _ = grid_neighbours(values, fmt)
        bits = np.concatenate([bits, every[(lo == values) & (values <= fmt.max)]])
    return bits


def _midpoints(fmt):
    """(midpoint, lower neighbour, upper neighbour) for each (sampled) pair of neighbouring finite values."""
    codes = _finite_codes(fmt)
    if fmt.has_zero:
        codes = np.concatenate([[0], codes])
    codes = codes[codes < fmt.max_code_magnitude]
    lo, hi = _values(codes, fmt), _values(codes + 1, fmt)
    middle = lo + (hi - lo) / 2  # lo + hi would overflow next to float64's max
    # float64 holds the midpoint up to 52 significand bits and above its own subnormal spacing
    exact = middle - lo == hi - middle
    return middle[exact], lo[exact], hi[exact]


def _midpoint(fmt, source):
    middle, _, _ = _midpoints(fmt)
    return _exact_bits(middle, source)


def _near_midpoint(fmt, source):
    middle, lo, hi = _midpoints(fmt)  # every midpoint is positive and finite
    found = []
    for side in _around_bits(middle, source):
        inside = (side > 0) & (side < source.inf_bits)
        values = _input_values(np.where(inside, side, 0), source)
        found.append(side[inside & (values > lo) & (values < hi)])
    return np.concatenate(found)


def _boundary(fmt, source):
    targets = [fmt.smallest_normal, fmt.smallest_subnormal, source.smallest_normal, source.smallest_subnormal,
               source.smallest_normal - source.smallest_subnormal]  # fmt: skip
    if fmt.has_subnormals:
        targets.append(fmt.smallest_normal - fmt.smallest_subnormal)  # the largest subnormal
    # the tininess threshold: above it a value just below the smallest normal rounds up to it at the
    # format's precision with an unbounded exponent, so it underflows only when tininess is decided
    # before rounding -- where the two tininess settings give other flags
    targets.append(fmt.smallest_normal * (1 - 2.0 ** -(fmt.man_bits + 2)))
    return _with_neighbours(targets, source)


def _tiny(fmt, source):
    half = fmt.smallest_subnormal / 2
    bits = _with_neighbours([half, half / 2, half / 4, source.smallest_subnormal], source)
    values = _input_values(bits, source)
    return bits[values < half]


def _overflow(fmt, source):
    ulp = 2.0 ** (fmt.emax - fmt.man_bits)  # the spacing of the top binade
    largest_input = float(_input_values([source.max_bits], source)[0])
    below_max = float(_values([fmt.max_code_magnitude - 1], fmt)[0])
    targets = [fmt.max, fmt.max + ulp / 2, fmt.max + ulp, 2 * fmt.max, largest_input]
    return np.concatenate([_with_neighbours(targets, source), _exact_bits([below_max], source)])


def _inf(fmt, source):
    return np.array([source.inf_bits], np.int64)


def _nan(fmt, source):
    return np.array([source.inf_bits | source.quiet_bit, source.inf_bits | source.quiet_bit | 1], np.int64)


def _snan(fmt, source):
    return np.array([source.inf_bits | 1, source.inf_bits | (source.quiet_bit - 1)], np.int64)


_KIND_BUILDERS = {
    "zero": _zero,
    "grid": _grid,
    "midpoint": _midpoint,
    "near_midpoint": _near_midpoint,
    "boundary": _boundary,
    "tiny": _tiny,
    "overflow": _overflow,
    "inf": _inf,
    "nan": _nan,
    "snan": _snan,
}
assert tuple(_KIND_BUILDERS) == KINDS


# ------------------------------------------------------------------ level 2 and random inputs


def exhaustive_batches(dtype="float32", batch_size: int = 1 << 22, *, start: int = 0, stop: int | None = None):
    """Every input of a type of at most 32 bits, in order of bit pattern, as arrays of ``batch_size``.

    Parameters
    ----------
    dtype : str or numpy dtype
        float16, bfloat16 or float32.
    batch_size : int
        Inputs per array (the last may be shorter).
    start, stop : int
        The bit patterns ``start .. stop - 1`` only (default: all).

    Yields
    ------
    ndarray
        Inputs of the type's dtype (float32 holding bfloat16 values for bfloat16).

    Examples
    --------
    >>> from lowfloat.testing import exhaustive_batches
    >>> [b.size for b in exhaustive_batches("float16", 30000)]
    [30000, 30000, 5536]
    """
    source = input_type(dtype)
    if source.bits > 32:
        raise ValueError(f"{source.name} has 2**{source.bits} inputs, too many to list; use random cases")
    stop = (1 << source.bits) if stop is None else stop
    _check_span(start, stop, source)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    for first in range(start, stop, int(batch_size)):
        yield bit_range(source, first, min(stop, first + int(batch_size)))


def _check_span(start, stop, source: InputType):
    for name, value in (("start", start), ("stop", stop)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {value!r}")
    if not 0 <= start <= stop <= (1 << source.bits):
        raise ValueError(f"bit patterns must satisfy 0 <= start <= stop <= 2**{source.bits}, got {start}..{stop}")


def bit_range(source: InputType, start: int, stop: int, step: int = 1) -> np.ndarray:
    """The inputs with bit patterns ``range(start, stop, step)``."""
    return source.from_bits(np.arange(start, stop, step, dtype=source.uint))


def random_cases(fmt, dtype, size: int, seed=0) -> np.ndarray:
    """``size`` reproducible random inputs, a third each of three kinds.

    * uniform random bit patterns of the input type (every class of input,
      mostly far outside a small format's range for float64);
    * random inputs in the format's range: a random exponent from below half
      the smallest subnormal to above ``max``, random significand bits;
    * hard cases (:func:`hard_cases`) moved by -2 .. 2 input ulps.

    Parameters
    ----------
    fmt : Format or str
    dtype : str or numpy dtype
        The input type.
    size : int
    seed : int or sequence of int
        The same seed gives the same inputs (any executor draws batch ``i``
        with ``seed=(seed, i)``).

    Examples
    --------
    >>> from lowfloat.testing import random_cases
    >>> x = random_cases("e4m3", "float32", 6, seed=1)
    >>> x.dtype, x.size, (random_cases("e4m3", "float32", 6, seed=1).view("u4") == x.view("u4")).all()
    (dtype('float32'), 6, np.True_)
    """
    fmt, source = get_format(fmt), input_type(dtype)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
        raise ValueError(f"size must be a non-negative int, got {size!r}")
    rng = np.random.default_rng(seed)
    kinds = rng.integers(0, 3, size=size)
    bits = np.empty(size, np.uint64)
    # 1) uniform bit patterns
    uniform = kinds == 0
    bits[uniform] = rng.integers(0, 1 << source.bits, size=int(uniform.sum()), dtype=np.uint64, endpoint=False)
    # 2) in the format's range: exponent from emin - man_bits - 2 to emax + 2, clipped to the input's
    ranged = kinds == 1
    n = int(ranged.sum())
    lowest = max(fmt.emin - fmt.man_bits - 2 + source.bias, 0)
    highest = min(fmt.emax + 2 + source.bias, source.exp_field_max - 1)
    exp_fields = rng.integers(lowest, highest + 1, size=n).astype(np.uint64)
    mantissas = rng.integers(0, 1 << source.man_bits, size=n, dtype=np.uint64)
    signs = rng.integers(0, 2, size=n).astype(np.uint64) << np.uint64(source.bits - 1)
    bits[ranged] = signs | (exp_fields << np.uint64(source.man_bits)) | mantissas
    # 3) hard cases, nudged: the magnitude moves, the sign stays
    nudged = kinds == 2
    pool = hard_case_bits(fmt, source).astype(np.uint64)
    picked = pool[rng.integers(0, pool.size, size=int(nudged.sum()))]
    sign = picked & np.uint64(source.sign_bit)
    magnitude = (picked & np.uint64(source.sign_bit - 1)).astype(np.int64)
    moved = np.clip(magnitude + rng.integers(-2, 3, size=picked.size), 0, source.sign_bit - 1)
    bits[nudged] = sign | moved.astype(np.uint64)
    return source.from_bits(bits.astype(source.uint))
