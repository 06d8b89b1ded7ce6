"""The lowfloat command line: output, exit codes, and the README's format table."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lowfloat.cli import format_table, main

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_format_table_matches_the_code():
    text = README.read_text()
    table = re.search(r"<!-- format-table -->\n(.*?)\n<!-- /format-table -->", text, re.S).group(1)
    assert table == format_table(markdown=True)


def test_readme_shows_the_ci_test_command():
    ci = (README.parent / ".ci" / "run").read_text()
    command = re.search(r"test_command='([^']+)'", ci).group(1)
    assert command in README.read_text().splitlines()


def test_quantize_prints_codes_and_values(capsys):
    assert main(["quantize", "--format", "e4m3", "0.1", "464", "465", "-0x1.8p-8"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "float8_e4m3fn, rounding nearest_even"
    assert out[2].split() == ["0.1", "0x1D", "0.1015625"]
    assert out[3].split() == ["464", "0x7E", "448.0"]
    assert out[4].split() == ["465", "0x7F", "nan"]
    assert out[5].split() == ["-0x1.8p-8", "0x83", "-0.005859375"]


def test_quantize_honours_rounding_and_overflow(capsys):
    assert main(["quantize", "-f", "e4m3", "--rounding", "toward_zero", "--overflow", "saturate", "-1e6", "0.1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2].split() == ["-1e6", "0xFE", "-448.0"]
    assert out[3].split() == ["0.1", "0x1C", "0.09375"]


def test_info_prints_one_table_or_finfo_blocks(capsys):
    assert main(["info"]) == 0
    table = capsys.readouterr().out
    assert table.count("\n") == 1 + 15 and "float8_e4m3fn" in table
    assert main(["info", "bf16", "e4m3"]) == 0
    blocks = capsys.readouterr().out
    assert "Machine parameters for bfloat16" in blocks and "Machine parameters for float8_e4m3fn" in blocks


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["info", "fp7"], "unknown format 'fp7'"),
        (["quantize", "--format", "fp7", "1"], "unknown format 'fp7'"),
        (["quantize", "--format", "e4m3", "one"], "not a number: 'one'"),
        (["quantize", "--format", "fp4", "nan"], "float4_e2m1fn has no NaN"),
        (["quantize", "--format", "e4m3", "--overflow", "inf", "1"], "e4m3fn has no infinity"),
        (["quantize", "--format", "e4m3", "--rounding", "sideways", "1"], "invalid choice: 'sideways'"),
        (["quantize", "1"], "required: --format"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "required: command"),
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lowfloat: error: ") and message in lines[0]


def test_python_dash_m_runs_the_same_command():
    done = subprocess.run(
        [sys.executable, "-m", "lowfloat", "quantize", "--format", "bf16", "1.00390625"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[2].split() == ["1.00390625", "0x3F80", "1.0"]  # a tie: to even (1.0)
