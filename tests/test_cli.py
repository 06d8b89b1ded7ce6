"""The lowfloat command line: output, exit codes, and the README's format table."""

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_same_values

import lowfloat as lf
from lowfloat import cli
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
        ([], "required: COMMAND"),
        (["explain", "0.1", "--format", "fp7"], "unknown format 'fp7'"),
        (["explain", "zero", "--format", "e4m3"], "not a number: 'zero'"),
        (["explain", "nan", "--format", "fp4"], "float4_e2m1fn, which has no NaN"),
        (["explain", "1", "--format", "e4m3", "--rounding", "stochastic"], "invalid choice: 'stochastic'"),
        (["explain", "1", "--format", "e4m3", "--overflow", "inf"], "has no infinity"),
        (["explain", "1"], "required: --format"),
        (["explain", "--format", "e4m3"], "required: VALUE"),
        (["table", "fp32"], "at most 16 bits"),
        (["table", "fp7"], "unknown format 'fp7'"),
        (["table"], "required: FORMAT"),
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


# ------------------------------------------------------------------ explain


def test_explain_prints_the_issue_example(capsys):
    assert main(["explain", "0.1", "--format", "e4m3"]) == 0
    out = capsys.readouterr().out
    expected = str(lf.explain("0.1", "e4m3")).splitlines()
    assert out.splitlines()[0].strip() == expected[0] and out.splitlines()[1:] == expected[1:]
    rows = {line.split()[0]: line.split(None, 1)[1] for line in out.splitlines()[1:]}
    assert rows["code"] == "0x1D" and rows["fields"].startswith("0 | 0011 | 101")
    assert rows["value"].startswith("0.1015625")


def test_explain_puts_formats_side_by_side_and_values_one_under_another(capsys):
    assert main(["explain", "0.1", "464", "-f", "e4m3", "-f", "e5m2", "-f", "bf16", "--rounding", "toward_zero"]) == 0
    out = capsys.readouterr().out
    blocks = out.strip("\n").split("\n\n")
    assert len(blocks) == 2
    for text, block in zip(["0.1", "464"], blocks, strict=True):
        lines = block.splitlines()
        assert lines[0].count(f"{text} in ") == 3
        codes = lines[[line.split()[0] for line in lines[1:]].index("code") + 1].split()[1:]
        expected = [lf.explain(text, name, rounding="toward_zero").code for name in ("e4m3", "e5m2", "bf16")]
        assert codes == [f"0x{code:02X}" if code < 256 else f"0x{code:04X}" for code in expected]


def test_explain_reads_numbers_exactly(capsys):
    # just above a tie in E4M3; the float64 nearest to it is the tie itself, which rounds down
    assert main(["explain", "1.0625000000000000000000000000001", "-1/3", "-0x1.8p-8", "-f", "e4m3"]) == 0
    values = [line for line in capsys.readouterr().out.splitlines() if line.startswith("value")]
    assert [line.split()[1] for line in values] == ["1.125", "-0.34375", "-0.005859375"]


# ------------------------------------------------------------------ table


def test_table_prints_one_row_per_code(capsys):
    assert main(["table", "e2m1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "float4_e2m1fn: 16 codes" and len(lines) == 2 + 16
    assert lines[1].split()[0] == "code"
    assert lines[2 + 0x5].split() == ["0x5", "0", "|", "10", "|", "1", "3.0", "normal"]
    assert lines[2 + 0x9].split() == ["0x9", "1", "|", "00", "|", "1", "-0.5", "subnormal"]


def test_table_csv_round_trips_through_decode(capsys):
    assert main(["table", "e5m2", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 256 and list(rows[0]) == ["code", "sign", "exponent", "mantissa", "bits", "value", "kind"]
    codes = [int(row["code"], 16) for row in rows]
    assert codes == list(range(256))
    assert_same_values([float(row["value"]) for row in rows], lf.decode(codes, "e5m2", dtype=np.float64))
    assert rows[0x7C]["kind"] == "inf" and rows[0x7C]["bits"] == "0|11111|00"


# ------------------------------------------------------------------ quantize files


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32])
def test_quantize_rounds_a_npy_file(tmp_path, capsys, dtype):
    source, target = tmp_path / "in.npy", tmp_path / "out.npy"
    data = (np.random.default_rng(0).standard_normal((3, 5)) * 300).astype(dtype)
    np.save(source, data)
    assert main(["quantize", "--format", "bf16", "--rounding", "toward_zero", str(source), str(target)]) == 0
    assert str(target) in capsys.readouterr().out
    result = np.load(target)
    expected = lf.quantize(data, "bf16", rounding="toward_zero")
    assert result.dtype == expected.dtype and result.shape == data.shape
    assert_same_values(result, expected)


def test_quantize_file_errors_are_one_line(tmp_path, capsys):
    good = tmp_path / "good.npy"
    np.save(good, np.float32([1, 2]))
    (tmp_path / "text.npy").write_text("not an array\n")
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "cut.npy").write_bytes(good.read_bytes()[:20])
    np.save(tmp_path / "words.npy", np.array(["a", "b"]))
    cases = [
        ([str(tmp_path / "missing.npy"), str(tmp_path / "o.npy")], "no such file"),
        ([str(tmp_path / "text.npy"), str(tmp_path / "o.npy")], "is not a .npy file"),
        ([str(tmp_path / "empty.npy"), str(tmp_path / "o.npy")], "is not a .npy file"),
        ([str(tmp_path / "cut.npy"), str(tmp_path / "o.npy")], "cannot read"),
        ([str(tmp_path / "words.npy"), str(tmp_path / "o.npy")], "expected real numbers"),
        ([str(good)], "exactly IN.npy OUT.npy"),
        ([str(good), "1.5"], "exactly IN.npy OUT.npy"),
        ([str(good), str(tmp_path / "no" / "dir" / "o.npy")], "cannot write"),
    ]
    for args, message in cases:
        assert main(["quantize", "--format", "e4m3", *args]) == 2, args
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert captured.out == "" and len(lines) == 1 and message in lines[0], (args, captured.err)


# ------------------------------------------------------------------ errors, help, colour


@pytest.mark.parametrize("command", ["explain", "table", "info", "quantize"])
def test_every_subcommand_has_help_with_examples(capsys, command):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: lowfloat {command}") and f"examples:\n  lowfloat {command} " in out


def test_top_level_help_lists_every_subcommand(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"    {command} " in out for command in ("explain", "table", "info", "quantize"))


def run_on_a_terminal(argv, monkeypatch) -> str:
    """Run main() with stdout on a real pseudo-terminal and return what it printed."""
    leader, follower = os.openpty()
    with open(follower, "w", closefd=True) as terminal:
        monkeypatch.setattr(sys, "stdout", terminal)
        assert main(argv) == 0
        terminal.flush()
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # Linux reports EIO once the follower side is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return b"".join(chunks).decode()


@pytest.mark.parametrize("argv", [["explain", "0.1", "-f", "e4m3"], ["table", "e2m1"]])
def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch, capsys, argv):
    monkeypatch.delenv("NO_COLOR", raising=False)
    shown = run_on_a_terminal(argv, monkeypatch)
    assert "\x1b[34m0\x1b[0m | \x1b[32m" in shown  # the sign in blue, then the exponent in green
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run_on_a_terminal(argv, monkeypatch)
    monkeypatch.undo()
    assert main(argv) == 0  # captured output is not a terminal
    assert "\x1b[" not in capsys.readouterr().out


def test_a_subcommand_plugs_in_through_one_register_function(monkeypatch, capsys):
    def run_greet(args):
        if args.name == "nobody":
            raise ValueError("nobody to greet")
        print(f"hello {args.name}")

    def register(subparsers):
        parser = subparsers.add_parser("greet", help="say hello")
        parser.add_argument("name")
        parser.set_defaults(run=run_greet)

    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, register])
    assert main(["greet", "world"]) == 0 and capsys.readouterr().out == "hello world\n"
    assert main(["greet", "nobody"]) == 2 and capsys.readouterr().err == "lowfloat: error: nobody to greet\n"
    assert main(["--help"]) == 0 and "    greet " in capsys.readouterr().out


# ------------------------------------------------------------------ lowfloat train: options generated from the settings
def _train_config(argv):
    from lowfloat.train.commands import _config_from_args

    return _config_from_args(cli.build_parser().parse_args(["train", *argv]))


def test_every_train_setting_and_policy_role_has_an_option(capsys):
    import dataclasses

    from lowfloat.train import ROLES, TrainConfig

    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    options = {f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(TrainConfig) if f.name != "extra"}
    options |= {f"--{role.replace('_', '-')}-format" for role in ROLES} | {"--overflow", "--promote-every"}
    assert {option for option in options if option not in text} == set()


def test_train_command_line_without_options_is_the_default_config():
    from lowfloat.train import TrainConfig

    assert _train_config([]) == TrainConfig()


def test_train_options_reach_the_config_in_the_fields_types():
    config = _train_config(["--betas", "0.8", "0.99", "--hidden", "16,8", "--max-steps", "3", "--lr", "2**-4",
                            "--stochastic-update", "--weight-format", "bf16", "--overflow", "default"])  # fmt: skip
    assert (config.betas, config.hidden, config.max_steps, config.lr) == ((0.8, 0.99), (16, 8), 3, 0.0625)
    policy = config.get_policy()
    assert (policy.name, policy.weight.name, policy.overflow, policy.stochastic_update) == \
        ("fp32*", "bfloat16", None, True)  # fmt: skip


def test_train_promote_every_option_reaches_the_policy(capsys):
    policy = _train_config(["--policy", "bf16", "--accumulator-format", "bf16", "--promote-every", "128"]).get_policy()
    assert (policy.accumulator.name, policy.promote_every) == ("bfloat16", 128)
    assert main(["train", "--promote-every", "0"]) == 2
    assert "Policy.promote_every must be None or a positive int, got 0" in capsys.readouterr().err


def test_train_policy_is_the_preset_itself_unless_an_override_is_given():
    assert _train_config(["--policy", "fp8"]).policy == "fp8"
    assert _train_config(["--policy", "fp8", "--overflow", "saturate"]).get_policy().name == "fp8*"


def test_bad_overflow_word_for_train_is_one_line(capsys):
    assert main(["train", "--overflow", "wrap"]) == 2
    err = capsys.readouterr().err
    assert "expected default or one of saturate, inf, nan, got 'wrap'" in err and err.count("\n") == 1


def test_train_commands_do_not_import_the_command_line_module():
    # cli.py registers the train commands; the reverse import would be a cycle
    code = "import sys, lowfloat.train.commands; print('lowfloat.cli' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
