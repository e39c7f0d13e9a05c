"""The verification notebooks run from a clean kernel on the sample and on a hand-made program
(`forestcarbon notebooks`, HTML out), are stored without outputs, and their ``.ipynb`` files agree
with their jupytext ``.py`` pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon import notebooks as fc_notebooks
from forestcarbon.cli.main import main
from tests.conftest import ops_for, stand

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = [
    "01_fo001_verification",
    "02_energy_verification",
    "03_canopy_refinement",
    "04_program_overview",
]
LIMIT_S = 120
"""Most seconds a notebook (and so any one of its cells) may take."""


def test_every_notebook_is_listed():
    found = sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb"))
    assert found == NOTEBOOKS
    assert sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.py")) == NOTEBOOKS


def test_notebooks_command_runs_all_four_on_the_sample(sample_run, tmp_path, capsys):
    """`forestcarbon notebooks` executes every notebook from a clean kernel on the sample, with
    the sample's run folder compared in 04, and writes HTML readable without Python."""
    run_dir, _ = sample_run
    out = tmp_path / "html"
    code = main(["notebooks", str(SAMPLE_PROGRAM), "--out", str(out), "--run", str(run_dir)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert list(fc_notebooks.NOTEBOOKS) == NOTEBOOKS
    for name in NOTEBOOKS:
        page = (out / f"{name}.html").read_text(encoding="utf-8")
        assert "Traceback" not in page and "CellExecutionError" not in page
        if name in ("03_canopy_refinement", "04_program_overview"):  # figures embedded
            assert 'src="data:image/png;base64,' in page
        seconds = float(printed.out.split(f"{name}: ")[1].split("(")[1].split(" s)")[0])
        assert seconds < LIMIT_S, f"{name} took {seconds:.0f} s"
    overview = (out / "04_program_overview.html").read_text(encoding="utf-8")
    assert f"{run_dir}: " in overview and " 0 differ" in overview
    fo001 = (out / "01_fo001_verification.html").read_text(encoding="utf-8")
    assert "differ: []" in fo001  # every stand-period re-derived by hand agrees
    assert "index.html" in printed.out
    # a second run refuses to overwrite without --overwrite
    assert main(["notebooks", str(SAMPLE_PROGRAM), "--out", str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err


def test_notebooks_command_on_a_small_hand_made_program(program, tmp_path, capsys):
    """A program with two sugi stands and no energy, canopy, harvest or natural forest: 01 and
    04 run (kinds it lacks are said so), 02 and 03 are skipped with the reason."""
    folder = program([stand("1-1-1"), stand("1-1-2", 2.0)], ops_for("1-1-1"))
    out = tmp_path / "html"
    assert main(["notebooks", str(folder), "--out", str(out)]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "02_energy_verification: skipped (the program has no solar sites" in printed
    assert "03_canopy_refinement: skipped (the program has no canopy height raster" in printed
    assert not (out / "02_energy_verification.html").exists()
    fo001 = (out / "01_fo001_verification.html").read_text(encoding="utf-8")
    assert "no stand of this kind (harvested)" in fo001
    assert "2 stand-periods re-derived by hand; 0 differ" in fo001
    overview = (out / "04_program_overview.html").read_text(encoding="utf-8")
    assert "test program" in overview and "no run folder given" in overview
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "skipped: the program has no canopy height raster" in index


def test_notebooks_command_refuses_bad_inputs_before_executing(program, tmp_path, capsys):
    folder = program([stand("1-1-1", species="ユーカリ")], ops_for("1-1-1"))
    out = tmp_path / "html"
    assert main(["notebooks", str(folder), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "unknown species" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_stored_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [], f"{name}: a cell has stored outputs"
        assert cell.execution_count is None, f"{name}: a cell has an execution count"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_in_sync_with_its_py_pair(name):
    def cells(path):
        nb = jupytext.read(path)
        return [(c.cell_type, c.source.strip()) for c in nb.cells]

    ipynb, py = NOTEBOOKS_DIR / f"{name}.ipynb", NOTEBOOKS_DIR / f"{name}.py"
    assert cells(ipynb) == cells(py), (
        f"{ipynb.name} and {py.name} differ: run `jupytext --sync notebooks/{py.name}`"
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_uses_only_the_public_api(name):
    source = (NOTEBOOKS_DIR / f"{name}.py").read_text(encoding="utf-8")
    imports = [line for line in source.splitlines() if "forestcarbon" in line and "import" in line]
    assert imports == ["import forestcarbon as fc"], imports
