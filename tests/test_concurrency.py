"""Concurrency: threads, fresh processes sharing one Numba cache, a read-only install, process pools.

Each test compares against the same computation done serially in this
process: results must be bit-identical, and child processes must print
nothing on stderr (no warning reaches the user).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import stat
import subprocess
import sys
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from conftest import NATIVE_THREAD_VARIABLES, assert_same_values

import lowfloat as lf
from lowfloat.kernels import threads
from lowfloat.kernels.plan import plan

# ------------------------------------------------------------------ threads
#: (operation, dtype, size, format, options) run by one thread each; three arrays are above
#: PARALLEL_MIN_SIZE, so lowfloat's own pool runs pieces of several callers at once; two threads
#: decode one generic 13-bit format, whose table of values neither has built yet.
THREAD_TASKS = [
    ("encode", np.float32, threads.PARALLEL_MIN_SIZE + 3, "e4m3", {}),
    ("quantize", np.float64, threads.PARALLEL_MIN_SIZE + 1001, "bf16", dict(rounding="stochastic", rng=11)),
    ("quantize", np.float32, threads.PARALLEL_MIN_SIZE, "e5m2", dict(rounding="toward_zero")),
    ("quantize", np.float32, 100_003, "fp4", dict(rounding="stochastic", rng=12)),
    ("encode", np.float64, 50_000, "e4m3fnuz", dict(rounding="stochastic", rng=13)),
    ("encode", np.float32, 70_001, "fp16", dict(rounding="nearest_away", overflow="saturate")),
    ("quantize", np.float64, 1000, "e8m0", {}),
    ("decode", np.uint8, 300_000, "e4m3", {}),
    ("decode", np.uint16, 200_000, lf.Format(exp_bits=5, man_bits=7, bias=15, specials="fn"), {}),
    ("decode", np.uint16, 100_000, lf.Format(exp_bits=5, man_bits=7, bias=15, specials="fn"), {}),
]


def run_task(task, x):
    operation, _, _, name, options = task
    return getattr(lf, operation)(x, name, **options)


def task_input(task, seed):
    operation, dtype, size, name, _ = task
    rng = np.random.default_rng(seed)
    if operation == "decode":
        return rng.integers(0, 1 << lf.get_format(name).bits, size).astype(dtype)
    return (rng.standard_normal(size) * 50).astype(dtype)


def test_threads_started_together_give_the_bits_of_serial_calls(monkeypatch):
    inputs = [task_input(task, seed) for seed, task in enumerate(THREAD_TASKS)]
    with monkeypatch.context() as serial:
        serial.setattr(threads, "PARALLEL_MIN_SIZE", 1 << 62)  # every array in one piece on this thread
        expected = [run_task(task, x) for task, x in zip(THREAD_TASKS, inputs, strict=True)]
    plan.cache_clear()  # the threads build decode's tables of every code's value again, at once
    monkeypatch.setattr(threads, "thread_count", lambda: 3)  # split large arrays on any machine, unevenly
    barrier = threading.Barrier(len(THREAD_TASKS))

    def work(k):
        barrier.wait()  # all threads start at once
        return [run_task(THREAD_TASKS[k], inputs[k]) for _ in range(2)]

    with ThreadPoolExecutor(max_workers=len(THREAD_TASKS)) as pool:
        results = list(pool.map(work, range(len(THREAD_TASKS))))
    for task, want, got in zip(THREAD_TASKS, expected, results, strict=True):
        for result in got:
            assert result.dtype == want.dtype and result.shape == want.shape, task
            assert np.array_equal(result.view(np.uint8), want.view(np.uint8)), task


def _quantize_in_child(x, connection):
    connection.send(lf.quantize(x, "e4m3"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_forked_child_rounds_a_large_array_after_the_parent_used_the_thread_pool(monkeypatch):
    monkeypatch.setattr(threads, "thread_count", lambda: 2)  # use the pool on any machine, in both processes
    x = np.random.default_rng(10).standard_normal(threads.PARALLEL_MIN_SIZE + 5).astype(np.float32)
    expected = lf.quantize(x, "e4m3")  # creates lowfloat's pool in this process
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+ warns of fork in a threaded process
        child = context.Process(target=_quantize_in_child, args=(x, sender))
        child.start()
    try:
        assert receiver.poll(10), "the forked child did not finish within 10 s (a kernel takes milliseconds)"
        assert np.array_equal(receiver.recv().view(np.uint32), expected.view(np.uint32))
    finally:
        child.terminate()
        child.join()


# ------------------------------------------------------------------ fresh processes
#: Run by each child process (``python -c``) and, in-process, by the tests: the sha256 of the
#: result bytes of encode, quantize (nearest, stochastic) and decode for three formats.  Only fast
#: paths: the general kernel's compilation would double the test's time while
#: adding nothing to what concurrent compilation into one cache can break.
DIGEST_SCRIPT = """
import hashlib, json, sys
import numpy as np
import lowfloat as lf

def digests():
    x = np.random.default_rng(0).standard_normal(20_000) * 100
    found = {"file": lf.__file__}
    for name in ("e4m3", "e5m2", "fp4"):  # few kernels to compile: float64 in, decode by table
        codes = np.arange(1 << lf.get_format(name).bits, dtype=np.uint8)
        results = {
            "encode64": lf.encode(x, name, overflow="saturate"),
            "quantize64": lf.quantize(x, name),
            "stochastic64": lf.quantize(x, name, rounding="stochastic", rng=5),
            "decode32": lf.decode(codes, name),
        }
        for label, result in results.items():
            found[name + " " + label] = hashlib.sha256(result.tobytes()).hexdigest()
    return found

if __name__ == "__main__":
    # four threads make the first calls at once, while the kernels compile or load from the cache
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier
    barrier = Barrier(4)

    def first_calls(_):
        barrier.wait()
        return digests()

    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(first_calls, range(4)))
    assert all(f == found[0] for f in found), found
    print(json.dumps(found[0]))
"""


def in_process_digests() -> dict:
    namespace = {"__name__": "digest_script"}
    exec(DIGEST_SCRIPT, namespace)
    return namespace["digests"]()


def child_env(**changes) -> dict:
    """This process's environment with ``changes`` (None removes a variable)."""
    env = dict(os.environ)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


def start_child(env, cwd, prefix=()):
    # -W default shows every warning a user could see, deprecations included
    command = [*prefix, sys.executable, "-W", "default", "-c", DIGEST_SCRIPT]
    return subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_child(child, timeout=600) -> dict:
    out, err = child.communicate(timeout=timeout)
    assert child.returncode == 0, err
    assert err == "", err
    return json.loads(out)


def without_file(digests: dict) -> dict:
    return {key: value for key, value in digests.items() if key != "file"}


@pytest.mark.slow
def test_four_fresh_processes_compiling_into_one_empty_numba_cache_agree_with_this_process(tmp_path):
    cache = tmp_path / "numba-cache"
    env = child_env(NUMBA_CACHE_DIR=cache)
    children = [start_child(env, tmp_path) for _ in range(4)]  # all start before any is waited for
    expected = without_file(in_process_digests())
    for child in children:
        assert without_file(finish_child(child)) == expected
    assert any(cache.rglob("*.nbi")), "the children wrote no cache index"
    # a fifth process loads what the four wrote concurrently: the cache must not be corrupt
    assert without_file(finish_child(start_child(env, tmp_path))) == expected


# ------------------------------------------------------------------ a read-only install
def _copy_read_only(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in [target, *target.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)


def _make_writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR | stat.S_IXUSR)


def _without_write_override() -> tuple[str, ...]:
    """A command prefix under which file permissions hold: root ignores them unless it drops
    CAP_DAC_OVERRIDE (``setpriv``); other users need nothing."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, where read-only files are writable, and setpriv is missing")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search")


@pytest.fixture
def read_only_site(tmp_path, request) -> Path:
    """A read-only copy of the lowfloat package in ``tmp_path / "site"``; returns the package directory."""
    site = tmp_path / "site"
    package = site / "lowfloat"
    _copy_read_only(Path(lf.__file__).parent, package)
    request.addfinalizer(lambda: _make_writable(site))  # so that tmp_path can be removed
    return package


def run_read_only(package: Path, home: Path, cwd: Path) -> dict:
    """The digests printed by a child importing the read-only ``package``, NUMBA_CACHE_DIR unset."""
    env = child_env(NUMBA_CACHE_DIR=None, PYTHONPATH=package.parent, HOME=home, XDG_CACHE_HOME=home / ".cache")
    got = finish_child(start_child(env, cwd, prefix=_without_write_override()))
    assert Path(got.pop("file")).resolve() == (package / "__init__.py").resolve()
    assert not list(package.rglob("__pycache__")), "the child wrote into the read-only package"
    return got


@pytest.mark.slow
def test_read_only_install_computes_the_right_result_without_any_warning(tmp_path, read_only_site):
    home = tmp_path / "home"
    home.mkdir()
    # Numba falls back from the read-only package to the user-wide cache under HOME
    assert run_read_only(read_only_site, home, tmp_path) == without_file(in_process_digests())
    assert any(home.rglob("*.nbi")), "Numba cached nothing in the user-wide cache"


@pytest.mark.slow
def test_read_only_install_with_a_read_only_home_still_imports_and_computes(tmp_path, read_only_site):
    home = tmp_path / "home"
    home.mkdir(mode=0o555)  # e.g. a container or a service user whose home cannot be written
    try:
        assert run_read_only(read_only_site, home, tmp_path) == without_file(in_process_digests())
    finally:
        home.chmod(0o755)


# ------------------------------------------------------------------ process pools
def test_lowfloat_functions_and_formats_run_in_a_spawned_process_pool():
    x = (np.random.default_rng(9).standard_normal(10_000) * 10).astype(np.float32)
    fmt = lf.Format(exp_bits=3, man_bits=4, bias=5, specials="fnuz")  # generic: pickled by its fields
    calls = [
        (lf.quantize, (x, "e4m3"), dict(rounding="stochastic", rng=21)),
        (lf.encode, (x, fmt), dict(overflow="saturate")),
        (lf.decode, (np.arange(256, dtype=np.uint8), fmt), {}),
        (lf.get_format, (fmt,), {}),
    ]
    context = multiprocessing.get_context("spawn")  # fork would copy this process's threads and locks
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = [pool.submit(function, *args, **options) for function, args, options in calls]
        results = [future.result(timeout=600) for future in futures]
    for (function, args, options), got in zip(calls, results, strict=True):
        want = function(*args, **options)
        if isinstance(want, lf.Format):
            assert got == want and hash(got) == hash(want)
        else:
            assert got.dtype == want.dtype
            assert_same_values(got, want)


def test_sha256_of_a_result_is_deterministic_in_process():
    # the fresh-process tests compare digests; equal inputs must give equal digests here first
    first, second = in_process_digests(), in_process_digests()
    assert first == second
    x = np.random.default_rng(0).standard_normal(20_000) * 100
    assert first["e4m3 encode64"] == hashlib.sha256(lf.encode(x, "e4m3", overflow="saturate").tobytes()).hexdigest()


@pytest.mark.skipif("PYTEST_XDIST_WORKER" not in os.environ, reason="the setup of a distributed run (-n N)")
def test_each_worker_of_a_distributed_run_sizes_its_native_thread_pools():
    # conftest.pytest_configure sets them in the controller before the workers start (one thread each
    # unless the caller chose): idle OpenBLAS and OpenMP threads spin and take the other workers' cores
    for name in NATIVE_THREAD_VARIABLES:
        assert int(os.environ.get(name, "0")) >= 1, f"{name} is not set in this worker"
