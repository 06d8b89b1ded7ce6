"""Every kernel path against the spec: the fast paths against the general kernel, the general kernel against
lowfloat.reference -- stochastic rounding with its random bits pinned at the boundaries, FTZ, DAZ and flags.

The general kernels in lowfloat/kernels/scalar.py serve every mode; the fast
paths in nearest.py, stochastic.py and decode.py must never differ from them,
on any input bit pattern or code, for any format they serve.  The general
kernel in turn must equal lowfloat.reference, the exact spec, in every rule.
"""

from fractions import Fraction

import numpy as np
import pytest

import lowfloat as lf
from lowfloat import reference
from lowfloat.kernels import drawn
from lowfloat.kernels.decode import small_constants
from lowfloat.kernels.plan import plan

FORMATS = [*lf.BUILTIN_FORMATS.values(), lf.Format(5, 4, 10, "ieee"), lf.Format(3, 1, 2, "fn"),
           lf.Format(6, 6, 40, "fnuz"), lf.Format(7, 5, 63, "fn"), lf.Format(2, 2, 0, "none")]  # fmt: skip
UINT = {np.float32: np.uint32, np.float64: np.uint64}


def bit_patterns(dtype):
    """Random bits plus every neighbourhood that matters: subnormals, around 1, near max, inf and NaN."""
    rng = np.random.default_rng(7)
    if dtype == np.float32:
        spans = [
            (0, 1 << 18),
            (0x3F000000, 1 << 18),
            (0x80000000, 1 << 16),
            (0x7F7F0000, 0x10100),
            (0x33000000, 1 << 18),
        ]
        pieces = [rng.integers(0, 1 << 32, 1 << 18, dtype=np.uint64).astype(np.uint32)]
        pieces += [np.arange(start, start + size, dtype=np.uint64).astype(np.uint32) for start, size in spans]
        return np.concatenate(pieces)
    wide = bit_patterns(np.float32).view(np.float32).astype(np.float64)
    return np.concatenate([rng.integers(0, 1 << 64, 1 << 18, dtype=np.uint64), wide.view(np.uint64),
                           (wide * (1 + 2.0**-30)).view(np.uint64)])  # fmt: skip


def around_smallest_subnormal(fmt, dtype):
    """Random inputs from far below the format's smallest subnormal q up to 2q: where stochastic rounding
    chooses between 0 and q from the input's exact fraction of q, and the first subnormals above it."""
    low, high = (np.array([fmt.smallest_subnormal * 2.0**-40, fmt.smallest_subnormal * 2], dtype).view(UINT[dtype]))
    rng = np.random.default_rng(11)
    return rng.integers(low, high, 1 << 16, dtype=UINT[dtype], endpoint=True)


def run_plan(chosen, bits, out_dtype, key=0x1234567890ABCDEF):
    out = np.empty(bits.size, out_dtype)
    chosen.run((bits, out), bits.size, key)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rounding", ["nearest_even", "stochastic"])
@pytest.mark.parametrize("fmt", FORMATS, ids=lambda fmt: fmt.name)
def test_fast_path_equals_general_kernel_bit_for_bit(fmt, rounding, dtype):
    with np.errstate(all="ignore"):
        bits = np.concatenate([bit_patterns(dtype), around_smallest_subnormal(fmt, dtype)])
    for overflow in (None, "saturate"):
        chosen = plan("encode", fmt, dtype, rounding, overflow)
        if chosen.path == "general":
            assert not fmt.signed or fmt.man_bits == 0 or fmt.bits > 16 or fmt.emin < -125
            continue
        # the path taken, and where it is a shortcut (float16, bfloat16, tf32) the plain loop it replaces
        paths = {chosen.path, rounding}
        assert paths <= {rounding, "binary16", "cut_short"}, paths
        general = plan("encode", fmt, dtype, rounding, overflow, path="general")
        general_codes = run_plan(general, bits, fmt.code_dtype)
        general_q = plan("quantize", fmt, dtype, rounding, overflow, path="general")
        for path in paths:
            fast_codes = run_plan(plan("encode", fmt, dtype, rounding, overflow, path=path), bits, fmt.code_dtype)
            want = general_codes
            if not fmt.has_nan:  # NaN has no code there: the public encode refuses it
                keep = ~np.isnan(bits.view(dtype))
                fast_codes, want = fast_codes[keep], want[keep]
            np.testing.assert_array_equal(fast_codes, want, err_msg=path)
            fast_q = plan("quantize", fmt, dtype, rounding, overflow, path=path)
            np.testing.assert_array_equal(run_plan(fast_q, bits, bits.dtype), run_plan(general_q, bits, bits.dtype))


def test_fast_paths_serve_the_formats_they_should():
    assert plan("quantize", lf.FLOAT8_E4M3FN, np.float32).path == "nearest_even"
    assert plan("quantize", lf.BFLOAT16, np.float64, "stochastic").path == "stochastic"
    assert plan("quantize", lf.FLOAT16, np.float32, ftz=True).path == "general"
    assert plan("quantize", lf.FLOAT16, np.float32, "stochastic", sr_bits=8).path == "general"
    assert plan("encode", lf.FLOAT8_E8M0FNU, np.float64).path == "general"
    assert plan("encode", lf.FLOAT16, np.float32, flags=True).path == "flags"
    with pytest.raises(ValueError, match="does not serve"):
        plan("encode", lf.FLOAT8_E8M0FNU, np.float64, path="nearest_even")


# ------------------------------------------------------------------ decode paths

GENERIC = [(8, 3, 127, "ieee"), (5, 0, 3, "none"), (3, 2, -4, "fnuz"), (6, 9, 60, "none"), (1, 3, 0, "none"),
           (2, 1, 1, "fn"), (7, 8, 70, "ieee")]  # fmt: skip
SMALL_FORMATS = [fmt for fmt in FORMATS if fmt.bits <= 16] + [lf.Format(*fields) for fields in GENERIC]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", SMALL_FORMATS, ids=lambda fmt: fmt.name)
def test_every_decode_path_equals_general_decode_on_every_code(fmt, dtype):
    codes = np.arange(1 << fmt.bits, dtype=fmt.code_dtype)
    general = run_plan(plan("decode", fmt, dtype, path="general"), codes, UINT[dtype])
    for path in ("shift", "small", "table"):
        try:
            chosen = plan("decode", fmt, dtype, path=path)
        except ValueError:  # the path does not serve this format
            continue
        np.testing.assert_array_equal(run_plan(chosen, codes, UINT[dtype]), general, err_msg=path)
    values = general.view(dtype)
    expected = [reference.decode(int(c), fmt) for c in codes]
    np.testing.assert_array_equal(values, np.array(expected, dtype))


def test_small_format_decode_serves_the_formats_it_should():
    served = {fmt.name for fmt in lf.BUILTIN_FORMATS.values() if small_constants(fmt, np.float32) is not None}
    assert {"float16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float4_e2m1fn", "float6_e3m2fn"} <= served
    assert "bfloat16" not in served and "float8_e8m0fnu" not in served and "float32" not in served
    assert small_constants(lf.BFLOAT16, np.float64) is not None
    assert plan("decode", lf.BFLOAT16, np.float32).path == "shift"
    assert plan("decode", lf.FLOAT8_E8M0FNU, np.float32).path == "table"


# ------------------------------------------------------------------ stochastic rounding's drawn bits


def hard_inputs(fmt, dtype) -> np.ndarray:
    """Grid values, midpoints, quarter points, values below the smallest subnormal, zeros, near max, both signs."""
    grid = [v for v in (reference.decode(c, fmt) for c in range(min(1 << fmt.bits, 1 << 9)))
            if np.isfinite(v) and v >= 0]  # fmt: skip
    grid = sorted(set(grid))[:40] + [fmt.max / 2, fmt.max]
    points = []
    for lo, hi in zip(grid, grid[1:], strict=False):
        points += [lo, lo + (hi - lo) / 2, lo + (hi - lo) / 4, lo + 3 * (hi - lo) / 4]
    q = fmt.smallest_subnormal
    points += [q / 3, q * 2.0**-20, q * 0.75, fmt.max * 1.01, fmt.max * 1.2, 0.0]
    with np.errstate(over="ignore", under="ignore"):
        values = np.array(points + [-p for p in points], dtype)
    return values[np.isfinite(values)]


def boundary_draws(x, fmt, lane: int) -> list[int]:
    """Random values at the comparison's edges for ``x``: 0, 1, the threshold and its neighbours, all ones."""
    draws = {0, 1, (1 << lane) - 1}
    if x != 0:
        lo, hi = reference.neighbours(x, fmt)
        threshold = int((abs(Fraction(float(x))) - lo) / (hi - lo) * (1 << lane))
        draws |= {t for t in (threshold - 1, threshold, threshold + 1) if 0 <= t < 1 << lane}
    return sorted(draws)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", FORMATS, ids=lambda fmt: fmt.name)
def test_stochastic_paths_equal_reference_with_drawn_bits_at_the_boundaries(fmt, dtype):
    lane = 32 if dtype == np.float32 else 64
    values = hard_inputs(fmt, dtype)
    if dtype == np.float32 and not fmt.signed:
        values = values.astype(np.float64)  # unsigned formats read float32 data widened to float64
        dtype, lane = np.float64, 64
    rows = [(x, r) for x in values for r in boundary_draws(x, fmt, lane)]
    bits = np.array([x for x, _ in rows], dtype).view(UINT[dtype])
    random = np.array([r for _, r in rows], UINT[dtype])
    general = plan("encode", fmt, dtype, "stochastic", path="general")
    codes, flags = np.empty(bits.size, fmt.code_dtype), np.empty(bits.size, np.uint8)
    (drawn.general_float32 if dtype == np.float32 else drawn.general_float64)(bits, random, codes, flags,
                                                                              *general.constants)  # fmt: skip
    expected = [reference.encode_flags(dtype(x), fmt, rounding="stochastic", random_bits=r, random_width=lane)
                for x, r in rows]  # fmt: skip
    np.testing.assert_array_equal(codes, [code for code, _ in expected])
    np.testing.assert_array_equal(flags, [flag for _, flag in expected])
    fast = plan("encode", fmt, dtype, "stochastic")
    if fast.path == "stochastic":
        fast_codes = np.empty(bits.size, fmt.code_dtype)
        (drawn.stochastic_float32 if dtype == np.float32 else drawn.stochastic_float64)(bits, random, fast_codes,
                                                                                        *fast.constants)  # fmt: skip
        np.testing.assert_array_equal(fast_codes, codes)


def test_stochastic_fast_path_keeps_zero_when_the_drawn_bits_are_zero():
    # +0's threshold is 0: no draw is below it, not even 0 (a `<=` would round +0 up to the smallest subnormal)
    fast = plan("encode", lf.FLOAT8_E4M3FN, np.float32, "stochastic")
    codes = np.empty(2, np.uint8)
    drawn.stochastic_float32(np.float32([0.0, -0.0]).view(np.uint32), np.zeros(2, np.uint32), codes,
                             *fast.constants)  # fmt: skip
    assert codes.tolist() == [0x00, 0x80]
    assert lf.encode(np.zeros(8, np.float32), "e4m3", rounding="stochastic", rng=0).tolist() == [0] * 8


@pytest.mark.parametrize("sr_bits", [1, 3, 8, 20])
def test_general_kernel_with_few_random_bits_equals_reference(sr_bits):
    fmt, dtype, lane = lf.FLOAT8_E5M2, np.float64, 64
    values = hard_inputs(fmt, dtype)
    rows = [(x, r) for x in values for r in boundary_draws(x, fmt, lane) + [1 << 63, (1 << 63) - 1]]
    bits = np.array([x for x, _ in rows], dtype).view(np.uint64)
    random = np.array([r for _, r in rows], np.uint64)
    general = plan("encode", fmt, dtype, "stochastic", sr_bits=sr_bits)
    codes, flags = np.empty(bits.size, np.uint8), np.empty(bits.size, np.uint8)
    drawn.general_float64(bits, random, codes, flags, *general.constants)
    expected = [reference.encode(x, fmt, rounding="stochastic", random_bits=r, sr_bits=sr_bits) for x, r in rows]
    np.testing.assert_array_equal(codes, expected)


# ------------------------------------------------------------------ FTZ, DAZ, tininess and flags


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.bits <= 16], ids=lambda fmt: fmt.name)
def test_flags_path_equals_reference_in_every_mode_with_ftz_daz_and_tininess(fmt, dtype):
    values = hard_inputs(fmt, dtype)
    tiny_input = np.finfo(dtype).smallest_subnormal * np.array([1, 3, -5], dtype)
    values = np.concatenate([values, tiny_input, np.array([np.inf, -np.inf, np.nan], dtype)])
    if not fmt.has_nan:
        values = values[~np.isnan(values)]
    if not fmt.signed and dtype == np.float32:
        return  # unsigned formats read float32 data widened to float64: the float64 case covers them
    for rounding in lf.DETERMINISTIC_MODES:
        for ftz, daz, tininess in ((False, False, "after"), (True, False, "before"), (False, True, "after"),
                                   (True, True, "after")):  # fmt: skip
            flags = np.empty(values.size, np.uint8)
            codes = lf.encode(values, fmt, rounding=rounding, ftz=ftz, daz=daz, tininess=tininess, flags=flags)
            expected = [reference.encode_flags(dtype(x), fmt, rounding=rounding, ftz=ftz, daz=daz, tininess=tininess)
                        for x in values]  # fmt: skip
            context = f"{rounding} ftz={ftz} daz={daz} tininess={tininess}"
            np.testing.assert_array_equal(codes, [c for c, _ in expected], err_msg=context)
            np.testing.assert_array_equal(flags, [f for _, f in expected], err_msg=context)
            plain = lf.encode(values, fmt, rounding=rounding, ftz=ftz, daz=daz)  # another path, the same codes
            np.testing.assert_array_equal(plain, codes, err_msg=context)
