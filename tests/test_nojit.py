"""With ``NUMBA_DISABLE_JIT=1`` the kernels run as plain Python and give the same bits as compiled.

Coverage of the kernels is measured that way (a compiled kernel is invisible
to a line tracer), so the Python run must be the same program: this test runs
one battery of calls -- every built-in format and two wide ones, every rounding mode, both
overflow policies that every format has, float32 and float64 inputs, edge
values and random ones, the element-wise arithmetic, sums, matmul and MX --
in a child process with the JIT disabled, and compares every result with
the compiled run's, bit for bit.

When ``LOWFLOAT_COVERAGE_FILE`` names a path and coverage.py is installed,
the child runs under coverage and leaves its data file there (``.ci/run``
reports it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lowfloat as lf

HERE = Path(__file__).resolve().parent


def _inputs(fmt, dtype) -> np.ndarray:
    """Edge values of the format (and their neighbours) plus random values across its range."""
    fmt = lf.get_format(fmt)
    rng = np.random.default_rng(fmt.bits * 31 + fmt.man_bits)
    info = lf.finfo(fmt)
    tiny = float(info.smallest_subnormal)
    edges = [0.0, -0.0, np.inf, -np.inf, np.nan, float(info.max), float(info.smallest_normal), tiny, 1.5 * tiny,
             1.0, 1.0 + float(info.eps) / 2]  # fmt: skip
    edges = np.array(edges + [-v for v in edges], np.float64)
    with np.errstate(over="ignore"):
        # the edges reach every branch; the random values only spread the check (each is slow without the JIT)
        spread = rng.standard_normal(64) * np.exp2(rng.integers(fmt.emin - fmt.man_bits - 3, fmt.emax + 3, 64))
        values = np.concatenate([edges, edges * (1 + 2.0**-20), spread]).astype(dtype)
    return values


#: Formats beyond float32's range or precision (their own kernel specialization): normals inside float64's
#: subnormals, and a 63-bit format whose special codes pass 2**62.
WIDE_FORMATS = [lf.Format(11, 10, 1040), lf.Format(11, 51, 1024, "none")]


def battery() -> dict[str, np.ndarray]:
    """Every result the comparison covers, by name; results are raw bytes views so NaNs compare too."""
    results = {}
    for fmt in [lf.get_format(name) for name in lf.BUILTIN_FORMATS] + WIDE_FORMATS:
        name = fmt.name
        for dtype in (np.float32, np.float64):
            x = _inputs(fmt, dtype)
            finite_or_nan_ok = x if fmt.has_nan else x[~np.isnan(x)]
            for rounding in lf.ROUNDING_MODES:
                rng = 7 if rounding == "stochastic" else None
                for overflow in (None, "saturate"):
                    key = f"{name}/{np.dtype(dtype).name}/{rounding}/{overflow}"
                    results[key + "/quantize"] = lf.quantize(x, fmt, rounding=rounding, overflow=overflow, rng=rng)
                    codes = lf.encode(finite_or_nan_ok, fmt, rounding=rounding, overflow=overflow, rng=rng)
                    results[key + "/encode"] = codes
            results[f"{name}/{np.dtype(dtype).name}/ftz-daz"] = lf.quantize(x, fmt, ftz=True, daz=True)
        codes = np.arange(min(1 << fmt.bits, 1 << 12), dtype=fmt.code_dtype)
        if fmt.value_dtype == np.float32:
            results[f"{name}/decode32"] = lf.decode(codes, fmt, dtype=np.float32)
        results[f"{name}/decode64"] = lf.decode(codes, fmt, dtype=np.float64)
    rng = np.random.default_rng(1)
    wide = np.array([2**60 + 2**36 + 1, -(2**53 + 1), 3, 0, 2**63 - 1], np.int64)  # rounded to odd on the way in
    for name in ("float32", "bfloat16", "e4m3"):
        results[f"{name}/int64"] = lf.quantize(wide, name)
        results[f"{name}/uint64"] = lf.quantize(np.abs(wide).astype(np.uint64), name)
    a = lf.quantize(rng.standard_normal(64), "e4m3")
    b = lf.quantize(rng.standard_normal(64), "e4m3")
    for op in ("add", "sub", "mul", "div"):
        for rounding in ("nearest_even", "toward_zero", "stochastic"):
            results[f"{op}/{rounding}"] = getattr(lf, op)(a, b, "bf16", rounding=rounding,
                                                          rng=3 if rounding == "stochastic" else None)  # fmt: skip
    results["fma"] = lf.fma(a, b, a, "fp16")
    results["sqrt"] = lf.sqrt(np.abs(a), "e5m2")
    results["sum/pairwise"] = np.asarray(lf.sum(a, "fp16", order="pairwise"))
    results["sum/sequential"] = np.asarray(lf.sum(a, "bf16"))
    m = lf.quantize(rng.standard_normal((4, 48)), "e4m3").astype(np.float32)
    results["matmul/e8m13"] = lf.matmul(m, m.T, accumulate=lf.Format(8, 13, 127, "ieee"), promote_every=16)
    results["matmul/bf16"] = lf.matmul(m, m.T, accumulate="bf16")
    for mx in ("mxfp8_e4m3", "mxfp4", "nvfp4"):
        block = lf.mx_quantize(rng.standard_normal((2, 64)).astype(np.float32), mx)
        results[f"{mx}/codes"] = np.asarray(block.codes)
        results[f"{mx}/dequantize"] = block.dequantize()
    return {key: np.ascontiguousarray(value).view(np.uint8) for key, value in results.items()}


def _child(path: Path) -> None:
    """Entry point of the child process: run the battery and save it."""
    np.savez(path, **battery())


@pytest.mark.slow
def test_kernels_with_the_jit_disabled_give_bit_identical_results(tmp_path):
    saved = tmp_path / "nojit.npz"
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONWARNINGS="error")
    script = tmp_path / "child.py"
    lines = ["import sys", f"sys.path.insert(0, {str(HERE)!r})", "import test_nojit", "test_nojit._child(sys.argv[1])"]
    script.write_text("\n".join(lines) + "\n")
    command = [sys.executable, str(script), str(saved)]
    coverage_file = os.environ.get("LOWFLOAT_COVERAGE_FILE")
    if coverage_file:
        pytest.importorskip("coverage")  # asked for by .ci/run, which installs it
        env["COVERAGE_FILE"] = coverage_file
        command = [sys.executable, "-m", "coverage", "run", "--source=lowfloat", str(script), str(saved)]
    child = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
    assert child.returncode == 0, child.stderr[-4000:]
    assert child.stderr == "", child.stderr[-4000:]
    compiled = battery()
    with np.load(saved) as interpreted:
        assert sorted(interpreted.files) == sorted(compiled)
        differing = [key for key in compiled if not np.array_equal(interpreted[key], compiled[key])]
    assert not differing, f"{len(differing)} results differ with the JIT disabled, e.g. {differing[:5]}"
