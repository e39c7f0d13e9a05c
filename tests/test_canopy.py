"""Canopy refinement: zonal statistics checked by hand, CRS and nodata handling, site class from
canopy height, flags, the volume model, and the sample's planted problems."""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Polygon, box

from forestcarbon.canopy import pipeline as C
from forestcarbon.cli.commands import SAMPLE_DIR
from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import CRSError, InputError
from forestcarbon.core.params import removal_factor, species_parameters
from forestcarbon.inputs.program import load_program
from forestcarbon.methods.fo001 import compute_fo001
from forestcarbon.sample import program as sample

from .conftest import ORIGIN, stand

X0, Y0 = ORIGIN


def write_raster(path, values, *, left=0.0, top=30.0, res=10.0, crs="EPSG:6673", nodata=None):
    """A single-band float32 GeoTIFF from a 2-D array (row 0 = north)."""
    values = np.asarray(values, dtype="float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=from_origin(left, top, res, res),
        nodata=nodata,
    ) as ds:
        ds.write(values, 1)
    return path


def stands_of(*geoms, crs="EPSG:6673"):
    return gpd.GeoDataFrame(
        {"stand_id": [f"s{i}" for i in range(len(geoms))]}, geometry=list(geoms), crs=crs
    )


NINE = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
"""3 x 3 pixels of 10 m, x 0-30, y 0-30; row 0 is the north row (values 1 2 3)."""


# --- zonal statistics on hand-made rasters ------------------------------------------------


def test_coverage_weighted_statistics_by_hand(tmp_path):
    raster = write_raster(tmp_path / "h.tif", NINE)
    stats = C.zonal_stats(
        stands_of(
            box(5, 5, 25, 25),  # corners 1/4, edges 1/2, centre whole
            Polygon([(0, 0), (20, 0), (0, 20)]),  # triangle over the south-west pixels
            box(12, 12, 14, 14),  # smaller than a pixel
        ),
        raster,
        min_valid_pixels=0,
        min_valid_fraction=0,
    )
    # box: (0.25 (1+3+7+9) + 0.5 (2+4+6+8) + 1 x 5) / 4 = (5 + 10 + 5) / 4 = 5
    assert stats.loc[0, "canopy_mean_m"] == pytest.approx(5.0)
    assert stats.loc[0, "valid_pixels"] == pytest.approx(4.0)
    assert stats.loc[0, "canopy_max_m"] == 9.0
    assert stats.loc[0, "valid_fraction"] == pytest.approx(1.0)
    # triangle: pixel 7 whole, 8 and 4 half, 5 not at all: (7 + 0.5 x 8 + 0.5 x 4) / 2 = 6.5
    assert stats.loc[1, "canopy_mean_m"] == pytest.approx(6.5)
    assert stats.loc[1, "valid_pixels"] == pytest.approx(2.0)
    assert stats.loc[1, "canopy_max_m"] == 8.0
    # a stand inside one pixel gets that pixel, weighted by 4 m2 / 100 m2
    assert stats.loc[2, "canopy_mean_m"] == pytest.approx(5.0)
    assert stats.loc[2, "valid_pixels"] == pytest.approx(0.04)
    assert list(stats["stand_id"]) == ["s0", "s1", "s2"]


def test_nodata_is_left_out_and_too_few_pixels_are_flagged_not_guessed(tmp_path):
    values = np.array(NINE, dtype=float)
    values[2, 2] = -9999  # pixel 9 (south-east) is nodata
    values[0, :] = -9999  # the north row too
    raster = write_raster(tmp_path / "h.tif", values, nodata=-9999)
    stats = C.zonal_stats(
        stands_of(box(5, 5, 25, 25), box(0, 20, 30, 30), box(0, 0, 20, 20)),
        raster,
        min_valid_pixels=2,
        min_valid_fraction=0.5,
    )
    # box: without 1, 2, 3 (north row) and 9: (0.5 (4+6+8) + 5 + 0.25 x 7) / 2.75
    assert stats.loc[0, "canopy_mean_m"] == pytest.approx((9 + 5 + 1.75) / 2.75)
    assert stats.loc[0, "valid_fraction"] == pytest.approx(2.75 / 4)
    # the north row is all nodata: no statistics, flagged
    assert stats.loc[1, "valid_pixels"] == 0
    assert stats.loc[1, ["canopy_mean_m", "canopy_p95_m"]].isna().all()
    assert stats.loc[1, "too_few_pixels"]
    # 4 whole pixels 4, 5, 7, 8 all valid
    assert stats.loc[2, "canopy_mean_m"] == pytest.approx(6.0)
    assert not stats.loc[2, "too_few_pixels"]


def test_part_outside_the_raster_lowers_the_valid_fraction(tmp_path):
    raster = write_raster(tmp_path / "h.tif", NINE)
    stats = C.zonal_stats(
        stands_of(box(20, 0, 40, 10)), raster, min_valid_pixels=0, min_valid_fraction=0
    )
    assert stats.loc[0, "canopy_mean_m"] == pytest.approx(9.0)
    assert stats.loc[0, "valid_fraction"] == pytest.approx(0.5)


def test_stands_in_another_crs_are_reprojected_explicitly(tmp_path, caplog):
    left, top = X0, Y0 + 300
    values = np.add.outer(np.arange(30.0), np.arange(30.0))  # a gradient: 0 .. 58
    raster = write_raster(tmp_path / "h.tif", values, left=left, top=top)
    stand = box(X0 + 33, Y0 + 47, X0 + 187, Y0 + 211)
    in_6673 = C.zonal_stats(stands_of(stand), raster, min_valid_pixels=0)
    lonlat = stands_of(stand).to_crs("EPSG:4326")
    with caplog.at_level(logging.INFO, logger="forestcarbon"):
        in_4326 = C.zonal_stats(lonlat, raster, min_valid_pixels=0)
    assert "reprojected from EPSG:4326" in caplog.text
    assert in_4326.loc[0, "canopy_mean_m"] == pytest.approx(
        in_6673.loc[0, "canopy_mean_m"], abs=1e-3
    )
    # the same polygon read as if it were in the raster's CRS would miss the raster entirely
    wrong = lonlat.set_crs("EPSG:6673", allow_override=True)
    with pytest.raises(InputError, match="does not overlap any stand"):
        C.zonal_stats(wrong, raster)


def test_raster_without_crs_is_an_error_that_says_how_to_fix_it(tmp_path):
    raster = write_raster(tmp_path / "h.tif", NINE, crs=None)
    with pytest.raises(CRSError, match=re.escape("gdal_edit.py -a_srs EPSG:6673 h.tif")):
        C.zonal_stats(stands_of(box(5, 5, 25, 25)), raster)


def test_windowed_processing_matches_a_whole_array_mean(tmp_path):
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 30, (200, 200)).round(1)
    raster = write_raster(tmp_path / "h.tif", values, top=2000.0)
    whole = box(100, 300, 1700, 1900)  # pixel-aligned: columns 10-170, rows 10-170
    expected = values[10:170, 10:170].mean()
    for cells in (30_000_000, 2_000):  # one read, or many windows of at most 2,000 cells
        stats = C.zonal_stats(stands_of(whole), raster, max_cells_in_memory=cells)
        assert stats.loc[0, "canopy_mean_m"] == pytest.approx(expected, rel=1e-9)
        assert stats.loc[0, "canopy_max_m"] == values[10:170, 10:170].max()


def test_dataarray_input_gives_the_same_statistics(tmp_path):
    rioxarray = pytest.importorskip("rioxarray")
    raster = write_raster(tmp_path / "h.tif", NINE)
    da = rioxarray.open_rasterio(raster, chunks={"band": 1, "x": 2, "y": 2})
    da = da.squeeze("band", drop=True)  # dask-backed: exactextract computes only its windows
    from_file = C.zonal_stats(stands_of(box(5, 5, 25, 25)), raster, min_valid_pixels=0)
    from_da = C.zonal_stats(stands_of(box(5, 5, 25, 25)), da, min_valid_pixels=0)
    assert from_da.loc[0, "canopy_mean_m"] == pytest.approx(from_file.loc[0, "canopy_mean_m"])


# --- site class ---------------------------------------------------------------------------


def test_site_class_index_between_and_beyond_the_curves():
    curves = np.array([[20.0, 17.0, 14.0]] * 5)
    index = C.site_class_index([20.0, 18.5, 17.0, 12.5, 23.0], curves)
    np.testing.assert_allclose(index, [1.0, 1.5, 2.0, 3.5, 0.0])
    np.testing.assert_array_equal(C.nearest_class(index), [1, 2, 2, 3, 1])
    flat = C.site_class_index([15.0], np.array([[15.0, 15.0, 15.0]]))
    assert np.isnan(flat[0])  # curves that do not separate the classes say nothing


GROWTH3 = """species,site_class,age,volume_m3_ha,height_m,region,source
sugi,1,20,240,16,test,hand-made test table
sugi,1,30,360,21,test,hand-made test table
sugi,1,40,430,24,test,hand-made test table
sugi,2,20,200,14,test,hand-made test table
sugi,2,30,300,18,test,hand-made test table
sugi,2,40,380,21,test,hand-made test table
sugi,3,20,160,12,test,hand-made test table
sugi,3,30,240,15,test,hand-made test table
sugi,3,40,300,18,test,hand-made test table
"""
"""Three sugi site classes; at age 30 the dominant heights are 21, 18 and 15 m."""

CANOPY_TOML = """
[canopy]
height_date = 2024-06-01
cover = "cover_2024.tif"
cover_date = 2024-06-01
cover_before = "cover_2021.tif"
cover_before_date = 2021-06-01
site_class_source = "{source}"
"""


def tiny_canopy_program(program, *, source="register"):
    """Four 1 ha sugi stands, register site class II, age 30 in FY2024 (planted 1995).

    s0: canopy 21 m (class I: the register is wrong); s1: canopy 1 m (unrecorded harvest);
    s2: thinned 2022-10-01, cover 0.9 -> 0.7; s3: thinned 2022-10-01, cover stays 0.9 (s0 and s1
    were thinned in 2015, before the cover rasters).
    """
    stands = [stand(f"s{i}", 1.0, planted_year=1995) for i in range(4)]
    ops = [
        {"stand_id": f"s{i}", "date": day, "operation": "thinning", "area_ha": ""}
        for i, day in enumerate(("2015-06-01", "2015-06-01", "2022-10-01", "2022-10-01"))
    ]
    folder = program(stands, ops, extra_toml=CANOPY_TOML.format(source=source), growth=GROWTH3)
    # stands are 100 m squares at ORIGIN + (0, 1000, 2000, 3000) m east
    width, height = 320, 12
    left, top = X0 - 10, Y0 + 110
    heights = np.zeros((height, width))
    cover_before = np.full((height, width), 0.9)
    cover_after = np.full((height, width), 0.9)
    for i, h in enumerate((21.0, 1.0, 18.0, 18.0)):
        cols = slice(1 + 100 * i, 11 + 100 * i)
        heights[1:11, cols] = h
    cover_after[1:11, 201:211] = 0.7
    write_raster(folder / "canopy_height.tif", heights, left=left, top=top)
    write_raster(folder / "cover_2021.tif", cover_before, left=left, top=top)
    write_raster(folder / "cover_2024.tif", cover_after, left=left, top=top)
    return folder


def test_site_class_flags_and_credit_effect_on_a_tiny_program(program):
    folder = tiny_canopy_program(program, source="canopy")
    inputs = load_program(folder)
    result = C.compute_canopy(inputs)
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
    factor = removal_factor(species_parameters().loc["sugi"], 1.23)
    assert fo.loc["s0", "net_tco2"] == pytest.approx(12 * factor)
    assert fo.loc["s0", "site_class"] == 1
    assert fo.loc["s2", "net_tco2"] == pytest.approx(10 * factor)
    assert "site_class_disagrees" in fo.loc["s0", "flags"]
    assert "thinning_not_visible" in fo.loc["s3", "flags"]
    changes = result.changes
    assert list(changes["stand_id"]) == ["s0"]
    assert changes.loc[0, "change_tco2"] == pytest.approx(2 * factor)
    assert changes.loc[0, "applied"]


def test_register_source_keeps_fo001_and_still_reports_the_effect(program):
    folder = tiny_canopy_program(program, source="register")
    inputs = load_program(folder)
    s = inputs.settings

    def fo001(stands):
        return compute_fo001(stands, inputs.operations, inputs.yields, s.periods, s.fo001)

    fo, result = C.compute_canopy(inputs).refine_fo001(inputs.stands, inputs.yields, fo001)
    factor = removal_factor(species_parameters().loc["sugi"], 1.23)
    assert fo.set_index("stand_id").loc["s0", "net_tco2"] == pytest.approx(10 * factor)
    assert not result.changes.loc[0, "applied"]
    assert result.changes.loc[0, "net_tco2_canopy"] == pytest.approx(12 * factor)


def test_bad_canopy_inputs_are_listed_at_once(program, capsys):
    folder = tiny_canopy_program(program)
    toml = (folder / "program.toml").read_text(encoding="utf-8")
    toml = toml.replace("height_date = 2024-06-01\n", "").replace(
        "cover_before_date = 2021-06-01", 'cover_before_date = "2021-06-01"'
    )
    toml = toml.replace("[canopy]\n", '[canopy]\nplots = "field.csv"\n')
    (folder / "program.toml").write_text(toml, encoding="utf-8")
    write_raster(folder / "cover_2024.tif", np.zeros((3, 3)), crs=None)
    with pytest.raises(InputError) as e:
        C.compute_canopy(load_program(folder))
    text = str(e.value)
    assert "[canopy] height_date" in text and "it is missing" in text
    assert "[canopy] cover_before_date" in text and "'2021-06-01'" in text
    assert "cover_2024.tif" in text and "no CRS" in text
    assert "field.csv not found" in text
    assert main(["-q", "validate", str(folder)]) == 1  # validate checks the canopy inputs too
    assert "[canopy] height_date" in capsys.readouterr().err


def test_plots_are_checked_and_located(program, tmp_path):
    folder = tiny_canopy_program(program)
    inputs = load_program(folder)
    plots = tmp_path / "plots.csv"
    plots.write_text(
        "plot_id,stand_id,x,y,材積\n"
        f"P1,s0,,,300\nP2,,{X0 + 1050},{Y0 + 50},250\nP3,s9,,,200\n"
        f"P4,,{X0 + 500},{Y0 + 50},100\nP5,s0,{X0 + 1050},{Y0 + 50},100\nP6,,,,100\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as e:
        C.read_plots(plots, inputs.stands)
    problems = {p.where.split()[1]: p.message for p in e.value.problems}
    assert "unknown stand 's9'" in problems["4"]
    assert "lies in no stand" in problems["5"]
    assert "950 m outside stand 's0'" in problems["6"]
    assert "give the plot's stand_id or its x and y" in problems["7"]
    good = tmp_path / "good.csv"
    good.write_text(f"plot_id,x,y,volume_m3_ha\nP2,{X0 + 1050},{Y0 + 50},250\n", encoding="utf-8")
    assert C.read_plots(good, inputs.stands).loc[0, "stand_id"] == "s1"


# --- the bundled sample -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_canopy():
    inputs = load_program(SAMPLE_DIR)
    result = C.compute_canopy(inputs)
    register, operations, _ = sample.generate()
    _, _, problems, _ = sample.generate_canopy(register, operations)
    return inputs, result, problems


PLANTED_FLAG = {problem: flag for problem, _, _, flag in sample.CANOPY_PROBLEMS}


def test_every_planted_problem_is_found_with_few_false_flags(sample_canopy):
    _, result, problems = sample_canopy
    flags = result.table.set_index("stand_id")["flags"].str.split(";")
    planted = set()
    for problem, ids in problems.items():
        assert ids
        for sid in ids:
            assert PLANTED_FLAG[problem] in flags[sid], (problem, sid, flags[sid])
        planted |= set(ids)
    clean = flags[~flags.index.isin(planted)]
    false_share = (clean.map(lambda f: f != [""])).mean()
    assert false_share <= 0.10
    assert len(result.table) == 410


def test_volume_model_beats_the_linear_baseline_on_held_out_stands(sample_canopy):
    _, result, _ = sample_canopy
    scores = result.model.scores.set_index("model")
    model, baseline = scores.loc["gradient_boosting"], scores.loc["linear_baseline"]
    assert model["n_plots"] == 60 and model["n_stands"] == 45 and model["n_folds"] == 5
    assert model["rmse_m3_ha"] < baseline["rmse_m3_ha"]
    assert model["r2"] > baseline["r2"]
    measured = pd.read_csv(SAMPLE_DIR / "plots.csv")["volume_m3_ha"].mean()
    assert model["relative_rmse"] == pytest.approx(model["rmse_m3_ha"] / measured)
    t = result.table
    predicted = t["volume_model_m3_ha"].notna()
    assert predicted.sum() > 300
    inside = (t["volume_model_low_m3_ha"] <= t["volume_model_m3_ha"]) & (
        t["volume_model_m3_ha"] <= t["volume_model_high_m3_ha"]
    )
    assert inside[predicted].all()


def test_grouped_folds_never_score_a_stand_the_model_saw():
    from sklearn.model_selection import GroupKFold

    rng = np.random.default_rng(0)
    stand_of_plot = rng.integers(0, 12, 40)
    for train, test in GroupKFold(5).split(np.zeros(40), groups=stand_of_plot):
        assert not set(stand_of_plot[train]) & set(stand_of_plot[test])


def test_volume_source_model_scales_the_yield_curves(sample_canopy, tmp_path):
    inputs, result, _ = sample_canopy
    s = inputs.settings
    model_settings = dataclasses.replace(s.canopy, volume_source="model")
    result = C.CanopyResult(result.table, result.model, result.inputs, model_settings)

    def fo001(stands):
        return compute_fo001(stands, inputs.operations, inputs.yields, s.periods, s.fo001)

    plain = fo001(inputs.stands).set_index(["stand_id", "period"])
    fo, result = result.refine_fo001(inputs.stands, inputs.yields, fo001)
    fo = fo.set_index(["stand_id", "period"])
    scale = result.table.set_index("stand_id")["volume_scale"]
    sid = scale.dropna().index[0]
    ratio = fo.loc[sid, "volume_end_m3_ha"] / plain.loc[sid, "volume_end_m3_ha"]
    np.testing.assert_allclose(ratio, scale[sid])
    unscaled = scale[scale.isna()].index
    assert (fo.loc[unscaled, "net_tco2"] == plain.loc[unscaled, "net_tco2"]).all()
    # a learned model may lower credits, never raise them
    assert scale.dropna().max() <= 1.0 and (scale.dropna() < 1.0).any()
    assert (fo["removals_tco2"] <= plain["removals_tco2"] + 1e-9).all()
    effect = result.volume_effect
    assert effect["change_tco2"].to_numpy() == pytest.approx(
        (fo["net_tco2"] - plain["net_tco2"]).groupby(level="period").sum().to_numpy()
    )


def test_canopy_command_writes_byte_identical_tables(tmp_path, capsys):
    program = tmp_path / "program"
    shutil.copytree(SAMPLE_DIR, program)
    for out in ("a", "b"):
        assert main(["-q", "canopy", str(program), "--out", str(tmp_path / out)]) == 0
    assert "site_class_disagrees" in capsys.readouterr().out
    for name in (
        "canopy_stands.csv",
        "canopy_site_class_changes.csv",
        "canopy_volume_model.csv",
    ):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    table = pd.read_csv(tmp_path / "a" / "canopy_stands.csv")
    assert list(table.columns[: len(C.CANOPY_COLUMNS)]) == C.CANOPY_COLUMNS
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
