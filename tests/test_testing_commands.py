"""``lowfloat check``: the report on stdout, exit 0 / 1 / 2, one-line usage errors; the adapters."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lowfloat as lf
from lowfloat.cli import main
from lowfloat.testing.adapters import ADAPTERS, adapter


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module of casts in the current directory, as a user would write one."""
    (tmp_path / "usercasts.py").write_text(
        textwrap.dedent("""
        import numpy as np
        import lowfloat as lf

        def to_e4m3(x):
            return lf.encode(x, "e4m3")

        def truncating(x):
            return lf.encode(x, "e4m3", rounding="toward_zero")

        def to_values(x):
            return lf.quantize(x, "e4m3")

        def crashes(x):
            raise ZeroDivisionError("not today")

        NOT_A_FUNCTION = 3
    """)
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the command puts the current directory first
    monkeypatch.delitem(sys.modules, "usercasts", raising=False)
    yield "usercasts"
    sys.modules.pop("usercasts", None)


def test_an_equal_cast_exits_0_and_prints_the_report(capsys):
    assert main(["check", "numpy", "--format", "fp16", "--input", "float64"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "numpy: float64 -> float16 (nearest_even, overflow=inf), comparing codes"
    assert out[-1] == "mismatches  0"


def test_torch_on_float64_into_e4m3_exits_1_with_double_rounding_and_saturation(capsys):
    pytest.importorskip("torch")
    assert main(["check", "torch", "--format", "e4m3", "--input", "float64"]) == 1
    out = capsys.readouterr().out
    assert "double rounding near a tie: 254" in out and "overflow threshold: 16" in out and "NaN/inf: 2" in out
    assert main(["check", "torch", "--format", "e4m3", "--input", "float32", "--overflow", "saturate"]) == 0


def test_ml_dtypes_on_float64_into_e4m3_double_rounds_only(capsys):
    pytest.importorskip("ml_dtypes")
    assert main(["check", "ml_dtypes", "-f", "e4m3", "--input", "float64", "--examples", "1"]) == 1
    out = capsys.readouterr().out
    assert "double rounding near a tie: 254" in out and "overflow threshold" not in out and "NaN/inf" not in out


def test_a_users_function_is_imported_from_the_current_directory(user_module, capsys):
    assert main(["check", f"{user_module}:to_e4m3", "--format", "e4m3", "--cases", "20000", "--seed", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "cases       random (seed 1): 20,000 inputs"
    assert main(["check", f"{user_module}:truncating", "--format", "e4m3", "--input", "bfloat16"]) == 1
    assert "tie broken the wrong way" in capsys.readouterr().out
    assert main(["check", f"{user_module}:to_values", "--format", "e4m3", "--output", "values"]) == 0


def test_exhaustive_runs_every_16_bit_input_on_worker_processes(capsys):
    assert main(["check", "numpy", "--format", "fp16", "--input", "bfloat16", "--exhaustive", "--workers", "2"]) == 0
    assert "every bfloat16 input: 65,536" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["numpy", "--format", "e4m3"], "numpy casts only into float16"),
        (["torch", "--format", "fp4"], "torch has no float4_e2m1fn dtype"),
        (["ml_dtypes", "--format", "tf32"], "ml_dtypes has no tensorfloat32 type"),
        (["numpy", "--format", "e9m9"], "e9m9"),
        (["numpy", "--format", "fp16", "--input", "int8"], "invalid choice"),
        (["numpy", "--format", "fp16", "--input", "float64", "--exhaustive"], "at most 32 bits"),
        (["numpy", "--format", "fp16", "--cases", "-5"], "cases"),
        (["numpy", "--format", "fp16", "--workers", "0"], "--workers"),
        (["numpy", "--format", "fp16", "--output", "values"], "returns codes"),
        (["numpy", "--format", "fp16", "--exhaustive", "--cases", "5"], "not allowed with"),
        (["tensorflow", "--format", "fp16"], "module:function or one of ml_dtypes, torch, numpy"),
        (["no_such_module_here:f", "--format", "fp16"], "cannot import no_such_module_here"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, message, capsys):
    assert main(["check", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("lowfloat: error: ") and message in captured.err


@pytest.mark.parametrize(
    "function, message",
    [
        ("crashes", "usercasts:crashes raised ZeroDivisionError: not today"),
        ("NOT_A_FUNCTION", "is not a function"),
        ("missing", "usercasts has no missing"),
    ],
)
def test_a_broken_user_function_is_a_usage_error(user_module, function, message, capsys):
    assert main(["check", f"{user_module}:{function}", "--format", "e4m3"]) == 2
    assert message in capsys.readouterr().err


def test_help_has_examples_and_the_top_level_help_lists_check(capsys):
    assert main(["check", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: lowfloat check") and "examples:\n  lowfloat check " in out
    assert main(["--help"]) == 0 and "    check " in capsys.readouterr().out


def test_the_command_runs_as_a_program_with_its_exit_status():
    ran = subprocess.run([sys.executable, "-m", "lowfloat", "check", "numpy", "-f", "e4m3"], capture_output=True,
                         text=True)  # fmt: skip
    assert ran.returncode == 2 and ran.stderr.startswith("lowfloat: error: numpy casts only into float16")


@pytest.mark.parametrize("name", ADAPTERS)
def test_each_adapter_runs_its_librarys_own_cast(name):
    pytest.importorskip(name)
    fmt = "fp16" if name == "numpy" else "e5m2"
    x = np.float32([0.1, -2.5, 70000.0, np.inf, np.nan])
    codes = adapter(name, fmt, "float32")(x)
    assert codes.dtype == lf.get_format(fmt).code_dtype
    assert np.array_equal(codes[:4], lf.encode(x[:4], fmt))
    assert np.isnan(lf.decode(codes[4], fmt))


@pytest.mark.parametrize("name", ["ml_dtypes", "torch"])
def test_bfloat16_inputs_reach_the_library_as_its_bfloat16(name):
    pytest.importorskip(name)
    x = lf.quantize(np.float32([1.0, 3.0078125, -448.0, 2.0**-130]), "bf16")
    assert np.array_equal(adapter(name, "e4m3", "bfloat16")(x), lf.encode(x, "e4m3"))
    assert np.array_equal(adapter(name, "bf16", "float32")(x).view(np.uint16), lf.encode(x, "bf16"))
