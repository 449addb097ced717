"""The notebooks in notebooks/: committed without outputs, and each runs top to bottom.

Each notebook is executed on a real kernel (ipykernel's ``python3`` kernelspec, which
runs this interpreter) with the notebooks folder as working directory, and fails on
the first cell that raises. The notebooks find ``scenarios/`` and ``data/`` from the
location of the ``sim`` package and write nothing into the repository.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import sim

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
EXPECTED = ["01_quickstart", "02_pax_silica", "03_history", "04_your_network"]

#: Seconds a single cell may run before the test fails.
CELL_TIMEOUT_S = 600
KERNEL = "python3"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _execute(nb: nbformat.NotebookNode, cwd: Path) -> None:
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()


def _error_report(nb: nbformat.NotebookNode) -> str:
    """The source and traceback of the first cell that raised."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                trace = _ANSI.sub("", "\n".join(output.get("traceback", [])))
                return (
                    f"cell {index} raised {output.get('ename')}: {output.get('evalue')}\n"
                    f"--- source ---\n{cell.source}\n--- traceback ---\n{trace}"
                )
    return "no cell holds an error output"


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if "__pycache__" not in p.parts}


def test_the_notebooks_are_there() -> None:
    assert [p.stem for p in PATHS] == EXPECTED


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL
    assert "widgets" not in nb.metadata
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: cell {index} has outputs"
            assert cell.execution_count is None, f"{path.name}: cell {index} has a count"
        assert "execution" not in cell.metadata, f"{path.name}: cell {index} has timings"


def test_the_kernel_runs_this_interpreter(tmp_path: Path) -> None:
    code = "import sys, sim\nprint(sys.prefix)\nprint(sim.__file__)"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    _execute(nb, tmp_path)
    prefix, package = nb.cells[0].outputs[0]["text"].splitlines()
    assert Path(prefix) == Path(sys.prefix)
    assert Path(package).resolve() == Path(sim.__file__).resolve()


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_runs_top_to_bottom(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    before = _listing(NOTEBOOKS)
    try:
        _execute(nb, NOTEBOOKS)
    except CellExecutionError:
        pytest.fail(f"{path.name}: {_error_report(nb)}", pytrace=False)
    assert _listing(NOTEBOOKS) == before, f"{path.name} wrote into {NOTEBOOKS.name}/"
    images = [
        output
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert images, f"{path.name} drew no figure"
