"""README's "Testing a cast" stays true: its pytest example runs, its outputs are today's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lowfloat.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_section() -> str:
    text = README.read_text()
    return text[text.index("## Testing a cast") : text.index("## Speed")]


def test_the_pytest_example_runs_and_passes():
    pytest.importorskip("ml_dtypes")
    block = re.search(r"<!-- testing-example -->\n```python\n(.*?)```\n<!-- /testing-example -->", readme_section(),
                      re.S).group(1)  # fmt: skip
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
    tests = [name for name in namespace if name.startswith("test_")]
    assert len(tests) == 3
    for name in tests:
        namespace[name]()


@pytest.mark.parametrize("library", ["torch", "ml_dtypes"])
def test_the_shown_outputs_are_what_the_command_prints(library, capsys):
    pytest.importorskip(library)
    section = readme_section()
    command = re.search(rf"```bash\n(lowfloat check {library} [^\n]*)\n```", section).group(1)
    shown = re.search(rf"```text\n({library}: .*?)\n```", section, re.S).group(1)
    assert main(command.split()[1:]) == 1
    assert capsys.readouterr().out.rstrip("\n") == shown
