"""Robustness: over a thousand generic formats, unusual array layouts, pickling, memory use and huge arrays.

* Generic formats, fuzzed: a seeded loop over more than 1000 distinct formats
  (every special-value convention, unsigned ones too) and a hypothesis test
  that shrinks, each comparing encode and quantize with the exact reference in
  every deterministic mode and overflow policy, and with gfloat wherever gfloat
  can express the format.
* Layouts the other tests do not reach: memory-mapped files, zero-stride
  broadcast views, 8-D arrays, negative strides, Fortran order, read-only and
  misaligned arrays -- each equal to the result on a contiguous copy.
* Pickling of the public names, of result objects and of formats.
* Memory: quantize, encode and decode allocate nothing beyond their result.
* Huge arrays: more than 2**31 elements, and stochastic rounding's random
  bits at indices beyond 2**32.
"""

from __future__ import annotations

import functools
import math
import pickle
import tracemalloc

import numpy as np
import pytest
from conftest import assert_same_codes, assert_same_values, reals_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lowfloat as lf
from lowfloat import reference
from lowfloat.formats import SPECIALS
from lowfloat.kernels.plan import plan

# ------------------------------------------------------------------ generic formats, fuzzed
#: How many distinct formats the seeded loop checks.
FUZZ_FORMATS = 1000


def make_format(exp_bits, man_bits, bias, specials, signed=True):
    """The Format with these fields, or None where Format refuses them (ValueError)."""
    if not signed:  # unsigned formats follow the E8M0 scale convention
        man_bits, specials = 0, "fn"
    try:
        return lf.Format(exp_bits=exp_bits, man_bits=man_bits, bias=bias, specials=specials, signed=signed)
    except ValueError:
        return None


def random_formats(count: int, seed: int) -> list[lf.Format]:
    """``count`` distinct formats: exp_bits 1-8, man_bits 0-10, every convention, a bias Format accepts."""
    rng = np.random.default_rng(seed)
    found: dict[lf.Format, None] = {}
    while len(found) < count:
        exp_bits = int(rng.integers(1, 9))
        # values must stay inside float32: emax <= 127 needs bias >= about 2**exp_bits - 128
        bias = int(rng.integers(max(-30, (1 << exp_bits) - 130), 128))
        fmt = make_format(exp_bits, int(rng.integers(0, 11)), bias, SPECIALS[rng.integers(len(SPECIALS))],
                          signed=bool(rng.random() > 0.05))  # fmt: skip
        if fmt is not None:
            found[fmt] = None
    return list(found)


def policies(fmt) -> list:
    """Every overflow policy the format allows."""
    return [None, "saturate"] + (["inf"] if fmt.has_inf else []) + (["nan"] if fmt.has_nan else [])


def fuzz_inputs(fmt, rng) -> np.ndarray:
    """float64 inputs around ``fmt``'s grid: a few codes' values, their midpoints and near-midpoints,
    points beyond max and below the smallest value, random magnitudes, signed zeros, infinities, NaN."""
    codes = rng.integers(0, fmt.max_code_magnitude + 1, 2)
    lo = np.array([float(reference.magnitude_of_code(int(c), fmt)) for c in codes])
    hi = np.array([float(reference.neighbours(v, fmt)[1]) if v else fmt.smallest_subnormal for v in lo])
    fractions = np.array([0.0, 0.5, 0.5 + 2.0**-30, 0.5 - 2.0**-30, 0.25])
    near = (lo[:, None] + (hi - lo)[:, None] * fractions).ravel()
    ulp = 2.0 ** (fmt.emax - fmt.man_bits)  # the top binade's spacing: where overflow starts
    edges = [fmt.max + ulp / 2, fmt.max + ulp * 0.75, fmt.smallest_subnormal / 2, fmt.smallest_subnormal * 0.3]
    emin_sub = fmt.emin - fmt.man_bits
    randoms = np.ldexp(1 + rng.random(3), rng.integers(emin_sub - 2, fmt.emax + 2, 3))
    magnitudes = np.concatenate([near, edges, randoms])
    signs = np.where(rng.random(magnitudes.size) < 0.5, -1.0, 1.0)
    return np.concatenate([magnitudes * signs, [0.0, -0.0, np.inf, -np.inf, np.nan]])


#: The exact value of a code, remembered: the modes and policies of one format share most codes.
_reference_decode = functools.cache(reference.decode)


def reference_results(x, fmt, rounding, overflow):
    """Codes and values of the exact reference (NaN has no code in formats without NaN: -1 there)."""
    codes = [
        -1 if math.isnan(v) and not fmt.has_nan else reference.encode(v, fmt, rounding=rounding, overflow=overflow)
        for v in x.tolist()
    ]
    values = [math.nan if code == -1 else _reference_decode(code, fmt) for code in codes]  # reference.quantize
    return np.array(codes, np.int64), np.array(values)


def every_setting(fmt) -> list:
    """(rounding, overflow): every deterministic mode with every policy of ``fmt``."""
    return [(rounding, overflow) for rounding in lf.DETERMINISTIC_MODES for overflow in policies(fmt)]


def check_against_reference(x, fmt, settings=None):
    """encode and quantize of ``x`` (float32 or float64) equal the reference in these (rounding, overflow)
    settings (default: every mode and policy)."""
    has_code = ~np.isnan(x) | fmt.has_nan
    for rounding, overflow in every_setting(fmt) if settings is None else settings:
        want_codes, want_values = reference_results(x, fmt, rounding, overflow)
        case = [f"{fmt!r} {rounding} {overflow} {v!r}" for v in x.tolist()]
        codes = lf.encode(x[has_code], fmt, rounding=rounding, overflow=overflow)
        assert_same_codes(codes, want_codes[has_code], inputs=np.array(case)[has_code])
        assert_same_values(lf.quantize(x, fmt, rounding=rounding, overflow=overflow), want_values, inputs=case)


def gfloat_comparable(fmt, overflow) -> bool:
    """Whether gfloat can express ``fmt`` with this policy: signed formats, saturating or not, where
    not saturating is possible (gfloat refuses it for formats without inf and NaN; lowfloat saturates)."""
    return fmt.signed and (overflow == "saturate" or (overflow is None and (fmt.has_inf or fmt.has_nan)))


def check_against_gfloat(x, fmt):
    """quantize of float64 ``x`` equals gfloat's round_ndarray in its five modes, saturating or not."""
    # the gfloat oracle's own test module maps formats, modes and policies (and skips without gfloat)
    from test_gfloat import ROUND_MODES, SATURATION, assert_same_as_gfloat, gfloat, gfloat_info

    info = gfloat_info(fmt)
    for sat, overflow in SATURATION.items():
        if not gfloat_comparable(fmt, overflow):
            continue
        for rounding, mode in ROUND_MODES.items():
            got = lf.quantize(x, fmt, rounding=rounding, overflow=overflow)
            with np.errstate(all="ignore"):  # numpy warnings inside gfloat
                expected = gfloat.round_ndarray(info, x, mode, sat)
            assert_same_as_gfloat(got, expected, x, fmt)


def test_more_than_1000_random_formats_encode_and_quantize_like_the_reference_and_gfloat():
    formats = random_formats(FUZZ_FORMATS, seed=2026)
    assert len(set(formats)) >= 1000
    conventions = {(fmt.specials, fmt.signed) for fmt in formats}
    assert conventions == {(s, True) for s in SPECIALS} | {("fn", False)}, conventions
    rng = np.random.default_rng(7)
    checked = set()
    for k, fmt in enumerate(formats):
        x = fuzz_inputs(fmt, rng)
        check_against_gfloat(x, fmt)  # float64 inputs: gfloat rounds from float64
        if k % 2:  # the float32 kernels for every other format: the inputs rounded to float32 first
            with np.errstate(over="ignore"):
                x = x.astype(np.float32)
        # the exact reference runs in Python: three settings a format, every setting many times over the run
        settings = every_setting(fmt)
        chosen = [settings[i] for i in rng.choice(len(settings), min(3, len(settings)), replace=False)]
        check_against_reference(x, fmt, chosen)
        checked |= {(rounding, overflow, x.dtype.name) for rounding, overflow in chosen}
    assert len(checked) == 2 * len(lf.DETERMINISTIC_MODES) * 4  # each mode, policy and input dtype


@st.composite
def generic_formats(draw):
    exp_bits = draw(st.integers(1, 8))
    fmt = make_format(
        exp_bits,
        draw(st.integers(0, 10)),
        draw(st.integers(max(-30, (1 << exp_bits) - 130), 127)),
        draw(st.sampled_from(SPECIALS)),
        signed=draw(st.booleans()) or draw(st.booleans()),  # unsigned one time in four
    )
    if fmt is None:
        return draw(st.nothing())
    return fmt


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(fmt=generic_formats(), data=st.data())
def test_drawn_format_and_inputs_encode_and_quantize_like_the_reference_and_gfloat(fmt, data):
    width = data.draw(st.sampled_from([64, 32]))
    values = data.draw(st.lists(reals_for(fmt, width=width), min_size=1, max_size=12))
    x = np.array(values, np.float64 if width == 64 else np.float32)  # exact: the values are float{width}
    check_against_reference(x, fmt)
    check_against_gfloat(x.astype(np.float64), fmt)


# ------------------------------------------------------------------ layouts: each equals the contiguous result
LAYOUT_FORMATS = ["e4m3", "bf16", "fp4", "e8m0"]


def layouts(tmp_path, x: np.ndarray) -> dict[str, np.ndarray]:
    """The values of ``x`` (2-D) -- or, for the broadcast view, of a repeated row -- in unusual layouts."""
    path = tmp_path / "x.npy"
    np.save(path, x)
    mapped = np.memmap(tmp_path / "x.raw", dtype=x.dtype, mode="w+", shape=x.shape, order="F")
    mapped[...] = x
    mapped.flush()
    read_only = x.copy()
    read_only.flags.writeable = False
    misaligned = np.ndarray(x.shape, x.dtype, buffer=np.zeros(x.nbytes + 1, np.uint8), offset=1)
    misaligned[...] = x
    return {
        "np.load mmap_mode=r": np.load(path, mmap_mode="r"),
        "np.memmap Fortran order": np.memmap(tmp_path / "x.raw", dtype=x.dtype, mode="r", shape=x.shape, order="F"),
        "broadcast zero strides": np.broadcast_to(x[0], x.shape),
        "8-D": x.reshape(2, 1, 3, 2, 1, 2, 2, -1),
        "8-D transposed": x.reshape(2, 1, 3, 2, 1, 2, 2, -1).transpose(7, 3, 0, 6, 1, 5, 2, 4),
        "negative strides": x[::-1, ::-2],
        "Fortran order": np.asfortranarray(x),
        "read-only": read_only,
        "misaligned by one byte": misaligned,
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", LAYOUT_FORMATS)
def test_encode_and_quantize_of_unusual_layouts_equal_the_result_on_a_contiguous_copy(tmp_path, name, dtype):
    x = (np.random.default_rng(1).standard_normal((48, 40)) * 4).astype(dtype)
    for label, view in layouts(tmp_path, x).items():
        plain = np.ascontiguousarray(view)
        assert_same_codes(lf.encode(view, name), lf.encode(plain, name), inputs=[label] * view.size)
        assert_same_values(lf.quantize(view, name), lf.quantize(plain, name), inputs=[label] * view.size)
        # element i draws its random bits from its C-order position, whatever the memory layout
        stochastic = lf.quantize(view, name, rounding="stochastic", rng=3)
        assert_same_values(stochastic, lf.quantize(plain, name, rounding="stochastic", rng=3), inputs=[label] * x.size)
        assert lf.encode(view, name).shape == view.shape


@pytest.mark.parametrize("name", LAYOUT_FORMATS)
def test_decode_of_unusual_layouts_equals_the_result_on_a_contiguous_copy(tmp_path, name):
    fmt = lf.get_format(name)
    codes = np.random.default_rng(2).integers(0, 1 << fmt.bits, (48, 40)).astype(fmt.code_dtype)
    for label, view in layouts(tmp_path, codes).items():
        for dtype in (np.float32, np.float64):
            got = lf.decode(view, name, dtype=dtype)
            assert_same_values(got, lf.decode(np.ascontiguousarray(view), name, dtype=dtype), inputs=[label] * got.size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quantize_in_place_of_a_writeable_memory_mapped_file_rounds_the_file(tmp_path, dtype):
    x = (np.random.default_rng(3).standard_normal(10_000) * 100).astype(dtype)
    expected = lf.quantize(x, "e5m2")
    mapped = np.memmap(tmp_path / "w.raw", dtype=dtype, mode="w+", shape=x.shape)
    mapped[:] = x
    assert lf.quantize(mapped, "e5m2", out=mapped) is mapped
    mapped.flush()
    del mapped
    assert_same_values(np.fromfile(tmp_path / "w.raw", dtype=dtype), expected)


def test_encode_into_a_memory_mapped_out_writes_the_codes_to_the_file(tmp_path):
    x = np.random.default_rng(4).standard_normal(5000)
    out = np.lib.format.open_memmap(tmp_path / "codes.npy", mode="w+", dtype=np.uint8, shape=x.shape)
    lf.encode(x, "e4m3", out=out)
    out.flush()
    del out
    assert_same_codes(np.load(tmp_path / "codes.npy"), lf.encode(x, "e4m3"))


# ------------------------------------------------------------------ pickling
def _public_functions_and_classes():
    names = [name for name in lf.__all__ if callable(getattr(lf, name))]
    return [getattr(lf, name) for name in names]


@pytest.mark.parametrize("obj", _public_functions_and_classes(), ids=lambda obj: obj.__name__)
def test_public_function_or_class_pickles_to_itself(obj):
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(obj, protocol)) is obj


def test_every_public_name_survives_a_pickle_round_trip():
    for name in lf.__all__:
        obj = getattr(lf, name)
        restored = pickle.loads(pickle.dumps(obj))
        assert restored is obj or restored == obj, name


def test_public_result_objects_survive_a_pickle_round_trip():
    x = np.linspace(-3, 3, 64, dtype=np.float32)
    for array in (
        lf.scaled_quantize(x, "e4m3"),
        lf.block_quantize(x, "e4m3", block_size=16),
        lf.mx_quantize(x, "mxfp8_e4m3"),
    ):
        restored = pickle.loads(pickle.dumps(array))
        assert type(restored) is type(array)
        assert_same_values(restored.dequantize(), array.dequantize())
    for value in (lf.explain(0.1, "e4m3"), lf.finfo("e5m2"), *lf.INT_FORMATS.values(), *lf.MX_FORMATS.values()):
        assert pickle.loads(pickle.dumps(value)) == value


@pytest.mark.parametrize(
    "fmt",
    [lf.FLOAT8_E4M3FN, lf.FLOAT8_E8M0FNU, lf.BFLOAT16, *random_formats(12, seed=5)],
    ids=lambda fmt: fmt.name,
)
def test_format_is_hashable_comparable_picklable_and_a_dict_key_that_survives_pickling(fmt):
    twin = lf.Format(fmt.exp_bits, fmt.man_bits, fmt.bias, fmt.specials, fmt.signed)
    assert twin == fmt and hash(twin) == hash(fmt)
    table = {fmt: "value"}
    restored_table = pickle.loads(pickle.dumps(table))
    assert restored_table[twin] == "value" and restored_table[fmt] == "value"
    restored = pickle.loads(pickle.dumps(fmt))
    assert restored == fmt and hash(restored) == hash(fmt) and restored.name == fmt.name
    x = np.linspace(-3, 3, 41)
    assert_same_values(lf.quantize(x, restored), lf.quantize(x, fmt))


# ------------------------------------------------------------------ memory: nothing beyond the result
SLACK = 64 * 1024  # bytes: Python objects, small tuples


def peak_traced_bytes(call) -> int:
    """Peak bytes traced by tracemalloc while ``call()`` runs (numpy reports its buffers to tracemalloc)."""
    call()  # compile or load the kernels first
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rounding", ["nearest_even", "toward_zero", "stochastic"])
def test_quantize_allocates_only_its_output_and_nothing_with_out(dtype, rounding):
    x = np.random.default_rng(5).standard_normal(1 << 22).astype(dtype)
    out = np.empty_like(x)
    options = dict(rounding=rounding, rng=1) if rounding == "stochastic" else dict(rounding=rounding)
    assert peak_traced_bytes(lambda: lf.quantize(x, "e4m3", **options)) <= x.nbytes + SLACK
    assert peak_traced_bytes(lambda: lf.quantize(x, "e4m3", out=out, **options)) <= SLACK
    assert peak_traced_bytes(lambda: lf.quantize(x, "e4m3", out=x, **options)) <= SLACK


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_encode_allocates_only_its_codes_and_nothing_with_out(dtype):
    x = np.random.default_rng(6).standard_normal(1 << 22).astype(dtype)
    out = np.empty(x.shape, np.uint8)
    assert peak_traced_bytes(lambda: lf.encode(x, "e4m3")) <= x.size + SLACK
    assert peak_traced_bytes(lambda: lf.encode(x, "e4m3", out=out)) <= SLACK


@pytest.mark.parametrize("name", ["e4m3", "bf16", "float32"])
def test_decode_allocates_only_its_values_and_nothing_with_out(name):
    fmt = lf.get_format(name)
    codes = np.random.default_rng(7).integers(0, 1 << min(fmt.bits, 16), 1 << 22).astype(fmt.code_dtype)
    out = np.empty(codes.shape, np.float32)
    assert peak_traced_bytes(lambda: lf.decode(codes, name)) <= out.nbytes + SLACK
    assert peak_traced_bytes(lambda: lf.decode(codes, name, out=out)) <= SLACK


# ------------------------------------------------------------------ huge arrays: no 32-bit index anywhere
def available_bytes() -> int:
    """MemAvailable from /proc/meminfo (0 where there is none, e.g. not Linux)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@pytest.mark.slow
def test_quantize_in_place_of_more_than_2_pow_31_float32_rounds_every_element():
    n = (1 << 31) + (1 << 21)
    needed = 4 * n  # in place: the array itself is all the memory
    if available_bytes() < 1.5 * needed:
        pytest.skip(f"needs {1.5 * needed / 2**30:.1f} GiB of available memory, "
                    f"{available_bytes() / 2**30:.1f} GiB available")  # fmt: skip
    rng = np.random.default_rng(8)
    pattern = (rng.standard_normal(1 << 20) * 100).astype(np.float32)  # values off the e4m3 grid
    x = np.empty(n, np.float32)
    x.reshape(-1, pattern.size)[...] = pattern
    # distinct values where a wrapped index would read or write: the start, around 2**31, the end
    windows = [slice(0, 64), slice((1 << 31) - 64, (1 << 31) + 64), slice(n - 64, n)]
    for window in windows:
        x[window] = (rng.standard_normal(window.stop - window.start) * 100).astype(np.float32)
    originals = [x[window].copy() for window in windows]
    assert lf.quantize(x, "e4m3", overflow="saturate", out=x) is x
    for window, original in zip(windows, originals, strict=True):
        expected = [reference.quantize(float(v), "e4m3", overflow="saturate") for v in original]
        assert_same_values(x[window], expected, inputs=original)
    # the tiled body is rounded too, before 2**31, after it and up to the last window
    rounded = lf.quantize(pattern, "e4m3", overflow="saturate")
    assert_same_values(x[1 << 30 : (1 << 30) + pattern.size], rounded)
    assert_same_values(x[(1 << 31) + 64 : (1 << 31) + pattern.size], rounded[64:])
    assert_same_values(x[n - pattern.size : n - 64], rounded[:-64])


def _stochastic_runs_from(first, values, kind="quantize"):
    """``(fast, general)``: the stochastic fast path's and the general kernel's results for ``values`` (e4m3)
    as the elements ``first, first + 1, ...`` of a longer array.

    The loops inside the entry points are called with the index of their first element (the entry
    points pass their ``start`` on as that index), so no array of 2**32 elements is needed.
    """
    from lowfloat.kernels import encode, quantize
    from lowfloat.kernels.stochastic import encode_run, quantize_run, stochastic_runs

    fmt, dtype = lf.get_format("e4m3"), values.dtype.type
    uint, sint = (np.uint32, np.int32) if dtype == np.float32 else (np.uint64, np.int64)
    fast_plan = plan(kind, fmt, dtype, "stochastic")
    general_plan = plan(kind, fmt, dtype, "stochastic", path="general")
    assert fast_plan.path == "stochastic"  # e4m3 has the stochastic fast path: compare it with the general kernel
    out_dtype = fmt.code_dtype if kind == "encode" else uint
    key = np.uint64(0x0123456789ABCDEF)
    fast_out, general_out = np.zeros(values.size, out_dtype), np.zeros(values.size, out_dtype)
    run = encode_run if kind == "encode" else quantize_run
    stochastic_runs(run, values.view(uint), fast_out, first, key, uint, sint, dtype, *fast_plan.constants)
    if kind == "encode":
        encode._general(values.view(uint), general_out, first, uint, sint, *general_plan.constants, key)
    else:
        quantize._general(values.view(uint), general_out, first, uint, sint, dtype, *general_plan.constants, key)
    if kind == "quantize":
        return fast_out.view(dtype), general_out.view(dtype)
    return fast_out, general_out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stochastic_rounding_beyond_index_2_pow_32_draws_fresh_bits_on_both_paths(dtype):
    halfway = np.full(80, 1.3125, dtype)  # halfway between 1.25 and 1.375: up or down with probability 1/2
    low, _ = _stochastic_runs_from(0, halfway)
    for first in (1 << 31) - 40, (1 << 32) - 40:
        fast, general = _stochastic_runs_from(first, halfway)
        np.testing.assert_array_equal(fast, general)
        assert set(fast.tolist()) == {1.25, 1.375}
    # element i + 2**32 must not reuse element i's bits (a truncated 32-bit index would): 40 coin
    # flips agree by chance with probability 2**-40
    assert fast[40:].tolist() != low[:40].tolist()


@pytest.mark.parametrize("first", [(1 << 32) - 40, (5 << 32) - 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["encode", "quantize"])
def test_stochastic_fast_path_run_across_a_2_pow_32_boundary_equals_the_general_kernel(kind, dtype, first):
    # float32 lanes count the index's low half in 32 bits and split the loop where it wraps:
    # one call whose elements straddle the wrap must draw every element's own bits
    values = np.random.default_rng(3).uniform(-400, 400, 80).astype(dtype)
    fast, general = _stochastic_runs_from(first, values, kind)
    np.testing.assert_array_equal(fast, general)
    assert len(set(fast.tolist())) > 20  # the elements really were rounded, not left at zero
