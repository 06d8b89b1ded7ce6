"""The notebooks run from top to bottom, and the outputs stored in them are what they print today.

Run this file as a script to re-execute the notebooks and store their new
outputs: ``python tests/test_notebooks.py`` (see notebooks/README.md).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# jupyter_core warns (DeprecationWarning) about its path migration unless this is set
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")

import nbformat  # noqa: E402
import pytest  # noqa: E402
from ipykernel.kernelspec import write_kernel_spec  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds; a cold Numba cache compiles kernels in the first cells


def execute(path: Path) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel of this Python interpreter and return it with its outputs."""
    notebook = nbformat.read(path, as_version=4)
    saved_path = os.environ.get("JUPYTER_PATH")
    with tempfile.TemporaryDirectory() as data_dir:
        # a kernel spec naming sys.executable, found first (JUPYTER_PATH leads the search), so the
        # kernel runs in the same environment as the tests whatever kernels the user has installed
        write_kernel_spec(Path(data_dir) / "kernels" / "python3", extra_arguments=["--log-level=ERROR"])
        os.environ["JUPYTER_PATH"] = data_dir
        try:
            client = NotebookClient(notebook, kernel_name="python3", timeout=CELL_TIMEOUT, record_timing=False,
                                    resources={"metadata": {"path": str(NOTEBOOK_DIR)}})  # fmt: skip
            client.execute(env={**os.environ, "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
        finally:
            if saved_path is None:
                del os.environ["JUPYTER_PATH"]
            else:
                os.environ["JUPYTER_PATH"] = saved_path
    return notebook


def printed(notebook: nbformat.NotebookNode) -> list[str]:
    """What each code cell printed and returned, as text (figures as their one-line text form)."""
    texts = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stdout":
                parts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                parts.append(output.data.get("text/plain", ""))
        texts.append("".join(parts))
    return texts


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs_and_its_stored_outputs_are_current(path):
    stored = nbformat.read(path, as_version=4)
    fresh = execute(path)
    for cell in fresh.cells:
        assert all(output.output_type != "error" for output in cell.get("outputs", [])), cell.source
    update = f"store its outputs with `python tests/test_notebooks.py notebooks/{path.name}`"
    assert any(cell.get("outputs") for cell in stored.cells), f"{path.name} is stored without outputs; {update}"
    assert printed(fresh) == printed(stored), f"{path.name}'s stored outputs are out of date; {update}"
    outputs = [output for cell in fresh.cells for output in cell.get("outputs", [])]
    assert any("image/png" in output.get("data", {}) for output in outputs), "the notebook draws no figure"


def test_the_teaching_notebooks_are_there():
    assert {"01_formats.ipynb", "02_rounding.ipynb"} <= {path.name for path in NOTEBOOKS}


def _store(path: Path) -> None:
    notebook = execute(path)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stderr":
                raise SystemExit(f"{path.name}: a cell wrote to stderr (a warning?):\n{output.text}")
    nbformat.write(notebook, path)
    print(f"stored {path.relative_to(NOTEBOOK_DIR.parent)}")


if __name__ == "__main__":
    for notebook_path in [Path(arg).resolve() for arg in sys.argv[1:]] or NOTEBOOKS:
        _store(notebook_path)
