"""provenance.json: where every number of a run came from."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from pathlib import Path

from forestcarbon import __version__
from forestcarbon.core.files import file_sha256, sha_as_read
from forestcarbon.core.params import table_names, table_version
from forestcarbon.inputs.store_state import store_state

PACKAGES = (
    "numpy",
    "pandas",
    "geopandas",
    "shapely",
    "pyproj",
    "pyogrio",
    "openpyxl",
    "rasterio",
    "exactextract",
    "scikit-learn",
    "folium",
    "jismesh",
)


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages the computation used."""
    out = {"python": platform.python_version(), "forestcarbon": __version__}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def code_revision() -> str:
    """Git commit of the forestcarbon source (with '+dirty' when modified), or 'unknown'."""
    here = Path(__file__).resolve().parents[1]  # the whole forestcarbon package
    try:
        rev = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def describe_inputs(files: dict[str, Path], program_dir: Path) -> dict:
    """Role -> relative path, size [bytes] and sha256 of every input file."""
    out = {}
    for role, path in sorted(files.items()):
        path = Path(path)
        try:
            name = str(path.resolve().relative_to(program_dir.resolve()))
        except ValueError:
            name = f"<packaged>/{path.name}" if "forestcarbon" in path.parts else str(path)
        sha = sha_as_read(path) or file_sha256(path)  # the bytes the run read
        size = (
            sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            if path.is_dir()  # a partitioned GeoParquet folder
            else path.stat().st_size
        )
        out[role] = {"path": name, "bytes": size, "sha256": sha}
    return out


def build_provenance(
    *,
    settings,
    files: dict[str, Path],
    program_dir: Path,
    growth_sources: list[str],
    outputs: dict[str, str],
    warnings: list[str] | None = None,
    compute: dict | None = None,
) -> dict:
    """The provenance record of a run (no timestamps: same inputs give the same record).

    ``warnings``: what a verifier must know about the run (e.g. fiscal years valued with a
    substitute emission factor). ``record_store`` (when the program keeps a store, reviews or a
    credit ledger): the ledger's head, the reviews' state and, for a PostgreSQL store, content
    hashes of the operations and stands read (:func:`forestcarbon.inputs.store_state.store_state`).
    ``compute``: where a distributed run computed (scheduler, partitions), recorded under
    ``compute`` (absent for a run in one process).
    """
    state = store_state(program_dir, settings)
    record = {
        "warnings": list(warnings or []),
        "program": settings.program.name,
        "program_dir": program_dir.name,
        "program_dir_path": str(program_dir.resolve()),
        "inputs": describe_inputs(files, program_dir),
        "settings": settings.to_dict(),
        "unverified_settings": dict(settings.unverified()),
        "parameter_tables": [table_version(name) for name in table_names()],
        "growth_table_sources": growth_sources,
        "packages": package_versions(),
        "code_revision": code_revision(),
        "outputs_sha256": outputs,
    }
    if state is not None:
        record["record_store"] = state
    if compute is not None:
        record["compute"] = compute
    return record
