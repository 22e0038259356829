"""The notebooks run top to bottom with the package's own functions."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.parametrize("name", ["1.0-explore-scms.ipynb", "2.0-evaluate-otd.ipynb"])
def test_notebook_executes(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(tmp_path / "home"))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    # A guard against a hung kernel, not a speed check: a cell trains a model, and with the tests
    # spread over every core it shares the machine with another worker.
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [
        o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
