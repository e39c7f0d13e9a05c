"""The canopy step on a tiny program (site class, flags, credit effect), the canopy command and
the run with and without a canopy raster."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import rasterio

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.canopy import step
from forestcarbon.canopy.inputs import load_canopy_inputs
from forestcarbon.canopy.step import CANOPY_COLUMNS, canopy_pixels, compute_canopy
from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.core.files import csv_bytes
from forestcarbon.inputs.program import load_program
from forestcarbon.methods.fo001 import compute_fo001
from tests.canopy.conftest import tiny_canopy_program

SUGI_T_CO2_PER_M3 = 0.90278925
"""0.314 x 1.23 x 1.25 x 0.51 x 44/12: sugi age >= 21 (FO-001.md §2), by hand [t-CO2/m3]."""


def test_site_class_flags_and_credit_effect_on_a_tiny_program(program):
    folder = tiny_canopy_program(program, source="canopy")
    inputs = load_program(folder)
    result = compute_canopy(inputs)
    t = result.table.set_index("stand_id")
    assert t.loc["s0", "site_class_canopy"] == 1
    assert t.loc["s0", "site_index_canopy"] == pytest.approx(1.0)
    assert t.loc["s0", "flags"] == "site_class_disagrees"
    assert t.loc["s1", "flags"] == "canopy_below_expected"
    assert pd.isna(t.loc["s1", "site_class_canopy"])  # a felled stand says nothing of its site
    assert t.loc["s2", "cover_change"] == pytest.approx(-0.2, abs=1e-6)
    assert t.loc["s2", "flags"] == ""
    assert t.loc["s3", "flags"] == "thinning_not_visible"
    assert t.loc["s2", "expected_height_m"] == 18.0

    s = inputs.settings

    def fo001(stands):
        return compute_fo001(stands, inputs.operations, inputs.yields, s.periods, s.fo001)

    fo, result = result.refine_fo001(inputs.stands, inputs.yields, fo001)
    fo = fo.set_index("stand_id")
    # FY2023, age 29: class I grows (360 - 240) / 10 = 12 m3/ha, class II 10 m3/ha
    factor = SUGI_T_CO2_PER_M3
    assert fo.loc["s0", "net_tco2"] == pytest.approx(12 * factor)
    assert fo.loc["s0", "site_class"] == 1
    assert fo.loc["s2", "net_tco2"] == pytest.approx(10 * factor)
    assert "site_class_disagrees" in fo.loc["s0", "flags"]
    assert "thinning_not_visible" in fo.loc["s3", "flags"]
    changes = result.changes
    assert list(changes["stand_id"]) == ["s0"]
    assert changes.loc[0, "change_tco2"] == pytest.approx(2 * factor)
    assert changes.loc[0, "applied"]


def test_canopy_command_writes_byte_identical_tables(tmp_path, capsys):
    program = tmp_path / "program"
    shutil.copytree(SAMPLE_PROGRAM, program)
    for out in ("a", "b"):
        assert main(["canopy", str(program), "--out", str(tmp_path / out)]) == 0
    assert "site_class_disagrees" in capsys.readouterr().out
    for name in (
        "canopy_stands.csv",
        "canopy_site_class_changes.csv",
        "canopy_volume_model.csv",
    ):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    table = pd.read_csv(tmp_path / "a" / "canopy_stands.csv")
    assert list(table.columns[: len(CANOPY_COLUMNS)]) == CANOPY_COLUMNS
    (program / "canopy_height.tif").unlink()
    assert main(["-q", "canopy", str(program), "--out", str(tmp_path / "c")]) == 1
    assert "no canopy height raster" in capsys.readouterr().err


def test_run_includes_the_canopy_step_when_the_raster_exists(program):
    from forestcarbon.run import compute

    folder = tiny_canopy_program(program, source="canopy")
    result = compute(load_program(folder))
    fo = result.fo001.set_index("stand_id")
    assert "canopy_below_expected" in fo.loc["s1", "flags"]
    assert fo.loc["s0", "site_class"] == 1
    assert {"canopy_stands.csv", "canopy_site_class_changes.csv"} <= set(result.extra)
    assert "canopy_height" in result.inputs.files  # hashed into provenance.json
    (folder / "canopy_height.tif").unlink()
    toml = (folder / "program.toml").read_text(encoding="utf-8")
    with pytest.raises(InputError, match="site_class_source = 'canopy' needs it"):
        compute(load_program(folder))
    toml = toml.replace('site_class_source = "canopy"', 'site_class_source = "register"')
    (folder / "program.toml").write_text(toml, encoding="utf-8")
    plain = compute(load_program(folder))
    assert "canopy_stands.csv" not in plain.extra and plain.canopy is None


def test_zonal_statistics_from_the_cache_are_the_same_bit_for_bit(tmp_path, monkeypatch):
    """The second canopy step of the same program reads its zonal statistics from the user's cache
    (the rasters are not read again) and gives byte-identical tables; a raster with one pixel
    changed, or a stand moved by 1 m, misses the cache."""
    monkeypatch.setenv("FORESTCARBON_CACHE_DIR", str(tmp_path / "cache"))
    program = tmp_path / "program"
    shutil.copytree(SAMPLE_PROGRAM, program)
    fresh = compute_canopy(load_program(program))
    entries = tmp_path / "cache" / "canopy_zonal"
    assert len(list(entries.glob("*.json"))) == 1

    def no_rasters(*args, **kwargs):
        raise AssertionError("the rasters were read again")

    with monkeypatch.context() as m:
        m.setattr(step, "zonal_stats_partition", no_rasters)
        m.setattr(step, "zonal_mean", no_rasters)
        cached = compute_canopy(load_program(program))
    for name, table in fresh.tables().items():
        assert csv_bytes(cached.tables()[name]) == csv_bytes(table), name

    with rasterio.open(program / "canopy_cover_2021.tif", "r+") as ds:
        band = ds.read(1)
        band[band.shape[0] // 2, band.shape[1] // 2] += 0.01
        ds.write(band, 1)
    compute_canopy(load_program(program))
    assert len(list(entries.glob("*.json"))) == 2
    inputs = load_program(program)
    moved = inputs.stands.copy()
    moved.geometry = moved.geometry.translate(xoff=1.0)
    step.canopy_table(
        moved,
        inputs.operations,
        inputs.yields,
        fresh.inputs,
        inputs.settings.canopy,
        inputs.settings.periods,
    )
    assert len(list(entries.glob("*.json"))) == 3


def test_partitioned_pixels_give_the_same_canopy_table(sample_canopy):
    inputs, whole, _ = sample_canopy
    canopy, settings = load_canopy_inputs(inputs), inputs.settings.canopy
    stands = inputs.stands
    order = np.argsort(stands.hilbert_distance().to_numpy(), kind="stable")
    parts = [stands.iloc[p] for p in np.array_split(order, 3)]
    pixels = [canopy_pixels(p, canopy, settings) for p in parts]
    everything = canopy_pixels(stands, canopy, settings)
    expected = everything.iloc[order].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.concat(pixels, ignore_index=True), expected, check_exact=True)
    # the partitions in any order: matched to the stands by stand_id
    result = compute_canopy(inputs, pixels=pd.concat(pixels[::-1]))
    pd.testing.assert_frame_equal(result.table, whole.table, check_exact=True)
    with pytest.raises(ValueError, match="1 stand\\(s\\) without a row"):
        compute_canopy(inputs, pixels=everything.iloc[1:])
