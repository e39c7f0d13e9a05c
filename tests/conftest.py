"""Tiny program folders built in code (STYLE.md: fixtures in code, hand-worked numbers)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import settings
from shapely.geometry import box

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.cli.main import main
from forestcarbon.officer.store import import_operations, program_store
from forestcarbon.run import run_program
from tests.pg_cluster import pg_cluster, store_toml  # noqa: F401 (the session's PostgreSQL)

# The tests (and the CLI processes they start) share one cache folder of their own, never the
# user's (core/cache.py): the sample's volume model is fitted once per test session.
os.environ["FORESTCARBON_CACHE_DIR"] = tempfile.mkdtemp(prefix="forestcarbon-test-cache-")

# Timings vary on a shared 2-core machine: hypothesis checks properties, not speed.
settings.register_profile("forestcarbon", deadline=None)
settings.load_profile("forestcarbon")

ORIGIN = (-30_000.0, -95_000.0)
"""A point in the hills north of Tsuyama, EPSG:6673 [m]."""

TOML = """[program]
name = "test program"
crs = "EPSG:6673"

[[periods]]
start = 2023-04-01
end = 2024-03-31
{extra}
"""

GROWTH = """species,site_class,age,volume_m3_ha,height_m,region,source
sugi,2,20,200,14,test,hand-made test table
sugi,2,30,300,18,test,hand-made test table
sugi,2,35,350,20,test,hand-made test table
sugi,2,40,380,21,test,hand-made test table
hinoki,2,20,150,11,test,hand-made test table
hinoki,2,40,300,16,test,hand-made test table
nara,2,20,80,9,test,hand-made test table
nara,2,80,200,18,test,hand-made test table
"""


def square(ha: float, offset: float = 0.0):
    """A square of ``ha`` hectares, ``offset`` metres east of ORIGIN."""
    side = (ha * 10_000) ** 0.5
    x0, y0 = ORIGIN[0] + offset, ORIGIN[1]
    return box(x0, y0, x0 + side, y0 + side)


def stand(stand_id: str, ha: float = 1.0, **attrs) -> dict:
    """One stand row (sugi, site II, planted 1993, in a plan) with its square polygon."""
    row = {
        "stand_id": stand_id,
        "species": "sugi",
        "planted_year": 1993,
        "site_class": 2,
        "forest_type": "planted",
        "protected": False,
        "plan_id": "P1",
        "area_ha": ha,
    }
    row.update(attrs)
    return row


def write_program(
    folder: Path,
    stands: list[dict],
    operations: list[dict] | None = None,
    *,
    extra_toml: str = "",
    growth: str = GROWTH,
    crs: str = "EPSG:6673",
) -> Path:
    """Write a program folder: program.toml, stands.gpkg, operations.csv, growth.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    if "growth" not in extra_toml:
        extra_toml = extra_toml.replace("[fo001]", '[fo001]\ngrowth = "growth.csv"', 1)
        if "[fo001]" not in extra_toml:
            extra_toml += '\n[fo001]\ngrowth = "growth.csv"\n'
    (folder / "program.toml").write_text(TOML.format(extra=extra_toml), encoding="utf-8")
    offsets = 0.0
    geoms = []
    for row in stands:
        geoms.append(row.pop("geometry", None) or square(row["area_ha"], offsets))
        offsets += 1_000
    gdf = gpd.GeoDataFrame(pd.DataFrame(stands), geometry=geoms, crs="EPSG:6673").to_crs(crs)
    gdf.to_file(folder / "stands.gpkg", layer="stands", engine="pyogrio")
    ops = pd.DataFrame(
        operations or [], columns=["stand_id", "date", "operation", "area_ha", "volume_m3"]
    )
    ops.to_csv(folder / "operations.csv", index=False)
    (folder / "growth.csv").write_text(growth, encoding="utf-8")
    return folder


@pytest.fixture
def program(tmp_path):
    """Factory: ``program(stands, operations, extra_toml=...)`` -> program folder."""
    counter = iter(range(1000))

    def make(stands, operations=None, **kw):
        return write_program(tmp_path / f"program{next(counter)}", stands, operations, **kw)

    return make


# --- the same program on each record store -----------------------------------------------------

STORE_KINDS = ("gpkg", "postgresql")


@pytest.fixture(params=STORE_KINDS)
def store_kind(request):
    """Each record store in turn: the GeoPackage, then PostgreSQL/PostGIS (a fresh schema of the
    session's cluster; skipped with a message where PostgreSQL cannot be installed). The value is
    the program.toml lines that select it."""
    if request.param == "gpkg":
        return store_toml(None)
    return store_toml(request.getfixturevalue("pg_cluster"))


@pytest.fixture(params=("csv", *STORE_KINDS))
def stored_program(request, tmp_path):
    """Factory like ``program`` whose operations live in a CSV, a GeoPackage store or a
    PostgreSQL store (each in turn): the same program must give the same results on each."""
    counter = iter(range(1000))
    if request.param == "csv":
        lines = ""
    elif request.param == "gpkg":
        lines = store_toml(None)
    else:
        lines = store_toml(request.getfixturevalue("pg_cluster"))

    def make(stands, operations=None, *, extra_toml="", **kw):
        folder = write_program(
            tmp_path / f"stored{next(counter)}",
            stands,
            operations,
            extra_toml=lines + extra_toml,
            **kw,
        )
        if lines and operations:
            import_operations(folder, folder / "operations.csv")
        elif lines:
            program_store(folder).change(lambda session: None)  # an empty store
        return folder

    return make


# --- running a program through the command line, as a user would ------------------------------

THIN = {"date": "2015-06-01", "operation": "thinning", "area_ha": ""}


def ops_for(*ids):
    """One thinning operation (2015-06-01, whole stand) for each stand id."""
    return [{"stand_id": i, **THIN} for i in ids]


def run_cli(folder, tmp_path, capsys, *args):
    """``forestcarbon run FOLDER --out tmp/out ARGS``: (exit code, captured output, out dir)."""
    out = tmp_path / "out"
    code = main(["run", str(folder), "--out", str(out), *args])
    return code, capsys.readouterr(), out


def assert_refused(folder, tmp_path, capsys, *needles):
    """The run exits 1 with every needle in its message, no traceback and nothing written."""
    code, captured, out = run_cli(folder, tmp_path, capsys)
    assert code == 1, captured.err
    assert "Traceback" not in captured.err
    for needle in needles:
        assert needle in captured.err, captured.err
    assert not out.exists() or not any(out.iterdir())
    # validate is the gate: it reports exactly the problems run reports
    assert main(["validate", str(folder)]) == 1
    checked = capsys.readouterr()
    assert _problem_lines(checked.err) == _problem_lines(captured.err), checked.err
    return captured.err


def _problem_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# --- the bundled sample, run once ----------------------------------------------------------------


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    """The bundled sample run into a temporary folder: (out dir, RunResult). Read, never modify.

    Used by tests/test_run.py and tests/outputs/test_provenance.py (tests/test_verify.py has its
    own ``sample_run``, a fresh copy it may change).
    """
    out = tmp_path_factory.mktemp("sample")
    result = run_program(SAMPLE_PROGRAM, out)
    return out, result
