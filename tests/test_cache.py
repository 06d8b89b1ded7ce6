"""lowfloat warmup: compiles kernel paths into Numba's disk cache; a second run finds them cached.

Each check runs in a fresh process with its own empty NUMBA_CACHE_DIR, as a
new user or a CI image starts.  Only the decode paths are compiled here (a
full warmup takes minutes on two cores).
"""

import inspect
import json
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

import lowfloat as lf
from lowfloat import cache


def run_python(code: str, cache_dir) -> str:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


WARMUP = "import json, lowfloat as lf; r = lf.warmup(operations=['decode'], processes=2); print(json.dumps(r.__dict__))"
DECODE_CACHED = """
import json, numpy as np, lowfloat as lf
from lowfloat.kernels import decode
for name in ('e4m3', 'fp16', 'bf16', 'e8m0', 'tf32'):
    for dtype in (np.float32, np.float64):
        lf.decode(np.arange(4), name, dtype=dtype)
kernels = [decode.small_float32, decode.small_float64, decode.shift_float32, decode.lookup, decode.decode_float64]
print(json.dumps([k.stats.cache_misses for k in kernels]))
"""


def test_warmup_compiles_once_and_later_processes_load_from_the_cache(tmp_path):
    first = json.loads(run_python(WARMUP, tmp_path))
    assert first["compiled"] >= 10 and first["cached"] == 0
    assert first["cache_dir"].startswith(str(tmp_path))
    second = json.loads(run_python(WARMUP, tmp_path))
    assert second["compiled"] == 0 and second["cached"] == first["compiled"]
    assert second["seconds"] < 1.0
    misses = json.loads(run_python(DECODE_CACHED, tmp_path))
    assert misses == [{}] * len(misses)  # every decode signature came from the cache


def test_warmup_refuses_an_unknown_operation():
    with pytest.raises(ValueError, match="operations must be a list"):
        lf.warmup(operations=["decoded"])
    with pytest.raises(ValueError, match="operations must be a list"):
        lf.warmup(operations="decode")


def test_warmup_command_prints_one_line_and_refuses_zero_processes(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    bad = subprocess.run([sys.executable, "-m", "lowfloat", "warmup", "--processes", "0"], env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "--processes must be at least 1" in bad.stderr
    good = subprocess.run([sys.executable, "-m", "lowfloat", "warmup", "--only", "blocks", "integers"], env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("compiled 2 of 2 kernel signatures") and str(tmp_path) in good.stdout


def test_every_warmup_call_fits_the_signature_of_its_kernel():
    # a kernel whose arguments changed must change its warmup job with it
    for job in cache.jobs():
        for kernel, args in cache._calls(job, checking=True):
            inspect.signature(kernel.py_func).bind(*args)


@pytest.mark.parametrize("rounding", ["nearest_even", "toward_zero", "stochastic"])
def test_warmup_compiles_the_loop_signatures_a_public_matmul_runs(rounding):
    values = np.float32([[0.5, -1.25, 3.0], [2.0, 0.75, -0.5]])  # on the bfloat16 grid
    lf.matmul(values, values.T, accumulate="bfloat16", rounding=rounding)
    ran = 0
    for loop, args in cache._matmul_calls(cache.Job("matmul", "bfloat16", "float64", rounding)):
        if loop.signatures:  # the loops this call took (or an earlier test did)
            ran += 1
            assert tuple(numba.typeof(arg) for arg in args) in loop.signatures, loop.__name__
    assert ran


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("operation", ["encode", "quantize"])
def test_read_only_inputs_take_the_compiled_loop_warmup_compiles(operation, dtype):
    # Numba types a read-only array apart: without the writeable view at the kernel boundary a JAX
    # array or a read-only memory map would compile every path a second time, warmup notwithstanding
    from lowfloat.kernels.plan import plan

    x = np.linspace(-500, 500, 101).astype(dtype)
    frozen = x.copy()
    frozen.flags.writeable = False
    function = getattr(lf, operation)
    for name, rounding in [("e4m3", "nearest_even"), ("e8m0", "nearest_even"), ("e4m3", "toward_zero")]:
        # the kernels the call may run: float32 data of a format float32 cannot round goes as float64
        kernels = [plan(operation, lf.get_format(name), data, rounding).kernel
                   for data in {dtype, np.float64}]  # fmt: skip
        expected = function(x, name, rounding=rounding)
        signatures = [list(kernel.signatures) for kernel in kernels]
        got = function(frozen, name, rounding=rounding)
        np.testing.assert_array_equal(got, expected)
        assert [list(kernel.signatures) for kernel in kernels] == signatures, (name, rounding)  # nothing compiled
        arrays = [arg for found in signatures for sig in found for arg in sig if isinstance(arg, numba.types.Array)]
        assert arrays and all(array.mutable for array in arrays)
    assert not frozen.flags.writeable  # the caller's array is left as it was
