"""provenance.json: inputs, settings, tables, package versions and the code revision of a run."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from forestcarbon import __version__
from forestcarbon.outputs import provenance
from forestcarbon.outputs.provenance import code_revision, package_versions

REVISION = re.compile(r"[0-9a-f]{40}(\+dirty)?|unknown")
GIT = shutil.which("git")
SOURCE = Path(provenance.__file__).resolve()


def test_provenance_records_inputs_settings_and_tables(sample_run):
    out, _ = sample_run
    prov = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert set(prov["inputs"]) == {
        "settings",
        "stands",
        "operations",
        "growth",
        "plans",
        "solar",
        "solar_readings",
        "aircon",
        "aircon_readings",
        "canopy_height",
        "canopy_cover",
        "canopy_cover_before",
        "plots",
    }
    assert len(prov["inputs"]["stands"]["sha256"]) == 64
    assert prov["settings"]["fo001"]["bef_convention"] == "increment"
    assert prov["settings"]["fo001"]["operations_since"] == "1990-04-01"
    assert "fo001.bef_convention" in prov["unverified_settings"]
    # the sample values energy with the yearless 'substitute' kind: each fiscal year is named
    assert prov["warnings"] == [
        "emission factor: FY2022: no sourced emission factor of that fiscal year; substitute "
        "0.000434 t-CO2/kWh (kind 'substitute' of emission_factors.csv) used",
        "emission factor: FY2023: no sourced emission factor of that fiscal year; substitute "
        "0.000434 t-CO2/kWh (kind 'substitute' of emission_factors.csv) used",
    ]
    assert {t["table"] for t in prov["parameter_tables"]} >= {"fo001_parameters", "species"}
    assert any("SYNTHETIC" in s for s in prov["growth_table_sources"])
    assert prov["outputs_sha256"]["fo001_stands.csv"]
    assert "geopandas" in prov["packages"]


def test_package_versions_list_numpy_with_its_installed_version():
    import numpy

    versions = package_versions()
    assert versions["numpy"] == numpy.__version__ == importlib.metadata.version("numpy")
    assert versions["python"] == platform.python_version()
    assert versions["forestcarbon"] == __version__
    assert versions["pandas"] == importlib.metadata.version("pandas")


def test_package_versions_skip_packages_not_installed(monkeypatch):
    real = importlib.metadata.version

    def version(name):
        if name == "jismesh":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    versions = package_versions()
    assert "jismesh" not in versions and "numpy" in versions


def test_code_revision_is_a_git_hash_or_unknown():
    assert REVISION.fullmatch(code_revision())


def test_code_revision_without_git_is_unknown(monkeypatch):
    monkeypatch.setenv("PATH", "")  # no git executable to be found: OSError
    assert code_revision() == "unknown"


def _source_tree(tmp_path: Path):
    """A git repository holding a copy of provenance.py at forestcarbon/outputs/, committed."""
    if GIT is None:
        pytest.skip("git not installed")
    root = tmp_path / "repo"
    (root / "forestcarbon" / "outputs").mkdir(parents=True)
    (root / "forestcarbon" / "core").mkdir()
    shutil.copy(SOURCE, root / "forestcarbon" / "outputs" / "provenance.py")
    (root / "forestcarbon" / "core" / "params.py").write_text("X = 1\n", encoding="utf-8")
    (root / "README.md").write_text("readme\n", encoding="utf-8")

    def git(*args):
        return subprocess.run(
            [GIT, "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "initial")
    spec = importlib.util.spec_from_file_location(
        "provenance_copy", root / "forestcarbon" / "outputs" / "provenance.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return root, git, module


def test_code_revision_of_a_clean_and_a_modified_tree(tmp_path):
    root, git, module = _source_tree(tmp_path)
    head = git("rev-parse", "HEAD")
    assert re.fullmatch(r"[0-9a-f]{40}", head)
    assert module.code_revision() == head
    # a change outside the package (README) does not make the code dirty
    (root / "README.md").write_text("changed\n", encoding="utf-8")
    assert module.code_revision() == head
    (root / "forestcarbon" / "outputs" / "provenance.py").write_text("# changed\n", "utf-8")
    assert module.code_revision() == head + "+dirty"


def test_code_revision_is_dirty_when_any_package_file_changed(tmp_path):
    root, git, module = _source_tree(tmp_path)
    (root / "forestcarbon" / "core" / "params.py").write_text("X = 2\n", encoding="utf-8")
    assert module.code_revision() == git("rev-parse", "HEAD") + "+dirty"
