"""Tests of the sample writer (forestcarbon.sample.program): determinism, the committed copy and
program.toml.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from geopandas.testing import assert_geodataframe_equal

from forestcarbon.sample.program import write_sample
from tests.sample.conftest import read_stands

COMMITTED = Path(__file__).resolve().parents[2] / "data" / "tsuyama-sample"
TEXT_FILES = ("program.toml", "operations.csv", "growth.csv", "README.md")


def test_generation_is_deterministic(sample_dir: Path, tmp_path: Path) -> None:
    again = write_sample(tmp_path / "again")
    for name in TEXT_FILES:
        assert (again / name).read_bytes() == (sample_dir / name).read_bytes(), name
    assert_geodataframe_equal(read_stands(again), read_stands(sample_dir))


def test_committed_sample_equals_fresh_generation(sample_dir: Path) -> None:
    for name in TEXT_FILES:
        assert (COMMITTED / name).read_bytes() == (sample_dir / name).read_bytes(), name
    assert_geodataframe_equal(read_stands(COMMITTED), read_stands(sample_dir))


def test_committed_sample_is_small() -> None:
    total = sum(path.stat().st_size for path in COMMITTED.iterdir())
    assert total < 3_000_000


def test_program_toml(sample_dir: Path) -> None:
    settings = tomllib.loads((sample_dir / "program.toml").read_text(encoding="utf-8"))
    assert settings["program"]["crs"] == "EPSG:6673"
    assert [str(p["start"]) for p in settings["periods"]] == ["2022-04-01", "2023-04-01"]
    assert settings["fo001"]["growth"] == "growth.csv"
    assert settings["map"]["privacy_k"] == 5
