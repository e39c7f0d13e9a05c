"""``forestcarbon notebooks PROGRAM --out DIR``: the verification notebooks executed on a program,
written as HTML a verifier reads in a browser without Python.

The notebooks (``notebooks/*.ipynb``, jupytext pairs) read their parameters from environment
variables: ``FORESTCARBON_PROGRAM`` (the program folder; default the bundled sample) and
``FORESTCARBON_RUN`` (optional: a run folder whose recorded totals 04 compares with its own
computation). Each is executed from a clean kernel of this interpreter (nbclient) and rendered
with nbconvert (figures embedded as images). A notebook about something the program does not
have (02 without solar or air conditioning, 03 without a canopy raster) is skipped with the
reason, listed in ``index.html``.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from forestcarbon.canopy.inputs import has_canopy
from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import ForestCarbonError, OutputError
from forestcarbon.inputs.energy import load_energy
from forestcarbon.inputs.program import load_program

NOTEBOOKS = (
    "01_fo001_verification",
    "02_energy_verification",
    "03_canopy_refinement",
    "04_program_overview",
)
"""The verification notebooks, in reading order."""

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
"""Where the notebooks are (the repository's notebooks/ folder beside the package)."""

KERNEL = "forestcarbon-notebooks"
TIMEOUT_S = 600
"""Most seconds one cell may take."""


@dataclass(frozen=True)
class NotebookRun:
    """One notebook: its HTML (None when skipped), the reason it was skipped, seconds taken."""

    name: str
    html: Path | None
    skipped: str = ""
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.name}: skipped ({self.skipped})"
        return f"{self.name}: {self.html} ({self.seconds:.0f} s)"


def skip_reasons(program_dir: str | Path) -> dict[str, str]:
    """Notebook -> why it does not apply to this program (absent: it applies)."""
    program_dir = Path(program_dir)
    settings = load_settings(program_dir)
    reasons = {}
    if load_energy(program_dir, settings).empty:
        reasons["02_energy_verification"] = "the program has no solar sites or air conditioning"
    if not has_canopy(program_dir, settings.canopy):
        reasons["03_canopy_refinement"] = (
            f"the program has no canopy height raster ({settings.canopy.height})"
        )
    return reasons


@contextlib.contextmanager
def _kernel_env(program_dir: Path, run_dir: Path | None) -> Iterator[None]:
    """A kernel spec of this interpreter and the notebooks' parameters, for the kernels started
    inside the block (they inherit the environment); the environment is restored after."""
    with tempfile.TemporaryDirectory(prefix="forestcarbon-jupyter-") as root:
        spec = Path(root) / "kernels" / KERNEL
        spec.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        kernel = {"argv": argv, "display_name": "forestcarbon", "language": "python"}
        (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
        wanted = {
            "JUPYTER_PATH": root,
            "FORESTCARBON_PROGRAM": str(program_dir.resolve()),
            "FORESTCARBON_RUN": str(run_dir.resolve()) if run_dir else "",
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        }
        saved = {k: os.environ.get(k) for k in wanted}
        os.environ.update(wanted)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _index_html(program_dir: Path, runs: list[NotebookRun]) -> str:
    rows = []
    for r in runs:
        if r.html:
            what = f'<a href="{html.escape(r.html.name)}">{html.escape(r.name)}</a>'
            note = f"{r.seconds:.0f} s"
        else:
            what, note = html.escape(r.name), "skipped: " + html.escape(r.skipped)
        rows.append(f"<li>{what} — {note}</li>")
    return (
        '<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8">'
        "<title>検証用ノートブック / verification notebooks</title></head><body>\n"
        f"<h1>検証用ノートブック / verification notebooks</h1>\n"
        f"<p>program: {html.escape(str(program_dir))}</p>\n<ul>\n"
        + "\n".join(rows)
        + "\n</ul>\n</body></html>\n"
    )


def run_notebooks(
    program_dir: str | Path,
    out_dir: str | Path,
    *,
    run_dir: str | Path | None = None,
    overwrite: bool = False,
    timeout: int = TIMEOUT_S,
    notebooks_dir: Path = NOTEBOOKS_DIR,
) -> list[NotebookRun]:
    """Execute the notebooks on a program and write ``OUT/NN_name.html`` and ``OUT/index.html``.

    The program is validated first (an :class:`InputError` lists every problem before any
    notebook starts). A notebook whose cell fails raises :class:`ForestCarbonError` naming the
    notebook and the error; its HTML up to that cell is written for diagnosis.
    """
    import nbclient  # the notebooks extra
    import nbformat
    from nbconvert import HTMLExporter

    program_dir, out = Path(program_dir), Path(out_dir)
    run_dir = Path(run_dir) if run_dir else None
    if not notebooks_dir.is_dir():
        raise ForestCarbonError(
            f"notebooks not found in {notebooks_dir}: run from a clone of the repository"
        )
    if run_dir and not (run_dir / "program_summary.csv").is_file():
        raise ForestCarbonError(f"{run_dir}: not a run folder (no program_summary.csv)")
    load_program(program_dir)  # every input problem at once, before minutes of execution
    reasons = skip_reasons(program_dir)
    targets = [out / f"{n}.html" for n in NOTEBOOKS] + [out / "index.html"]
    existing = [p for p in targets if p.exists()]
    if existing and not overwrite:
        raise OutputError(
            f"{existing[0]} exists (and {len(existing) - 1} more); use --overwrite to replace"
        )
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    runs: list[NotebookRun] = []
    with _kernel_env(program_dir, run_dir):
        for name in NOTEBOOKS:
            if name in reasons:
                runs.append(NotebookRun(name, None, reasons[name]))
                continue
            nb = nbformat.read(notebooks_dir / f"{name}.ipynb", as_version=4)
            client = nbclient.NotebookClient(
                nb,
                timeout=timeout,
                kernel_name=KERNEL,
                resources={"metadata": {"path": str(notebooks_dir)}},
            )
            start = time.monotonic()
            failure = None
            try:
                client.execute()
            except nbclient.exceptions.CellExecutionError as e:
                failure = e
            body, _ = exporter.from_notebook_node(nb)
            path = out / f"{name}.html"
            path.write_text(body, encoding="utf-8")
            if failure is not None:
                raise ForestCarbonError(
                    f"notebook {name} failed on {program_dir} (see {path}): "
                    f"{failure.ename}: {failure.evalue}"
                )
            runs.append(NotebookRun(name, path, seconds=time.monotonic() - start))
    (out / "index.html").write_text(_index_html(program_dir, runs), encoding="utf-8")
    return runs
