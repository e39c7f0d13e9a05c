"""Register roll-forward (forestcarbon.officer.register) of the sample, by hand: ages, volumes,
statuses, the diff and ``register update``. Expected values are worked by hand in the comments."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from forestcarbon.cli.main import main
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.schemas import STANDS, validate
from forestcarbon.officer.register import program_cohorts, register_diff, roll_forward

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "tsuyama-sample"


@pytest.fixture(scope="module")
def sample():
    return load_program(SAMPLE)


# --- register roll-forward of the sample to FY2025 -----------------------------------------------
# data/tsuyama-sample/growth.csv rows used (m3/ha): sugi II 20: 145.7, 25: 205.6, 50: 450.0,
# 60: 510.3, 65: 533.7; hinoki II 5: 5.5, 50: 330.0, 55: 358.6, 60: 383.7, 65: 405.5.
# Age in FY Y = Y - planted_year + 1; volume linear between tabulated ages, from 0 at age 0.

HAND_FY2025 = {
    # stand: (planted_year, age, volume_m3_ha, status)
    # sugi II planted 1962: age 64 -> 510.3 + 4/5 * (533.7 - 510.3) = 529.02
    "1-1-1": (1962, 64, 529.02, "standing"),
    # sugi II planted 1976: age 50 -> 450.0 (tabulated)
    "1-3-1": (1976, 50, 450.0, "standing"),
    # hinoki II planted 1974: age 52 -> 330.0 + 2/5 * (358.6 - 330.0) = 341.44
    "1-2-1": (1974, 52, 341.44, "standing"),
    # sugi II replanted FY2005 (register already shows it): age 21 -> 145.7 + 1/5 * 59.9 = 157.68
    "11-6-1": (2005, 21, 157.68, "standing"),
    # hinoki II, register crop of 1959 felled 2022-10-06, replanted 2023-05-04 (FY2023):
    # planted_year reset to 2023, age 3 -> 3/5 * 5.5 = 3.3
    "5-5-1": (2023, 3, 3.3, "replanted"),
    # hinoki II planted 1970, felled 2023-10-09 and not replanted: no crop
    "15-6-1": (1970, 0, 0.0, "felled"),
}


def test_roll_forward_sample_to_fy2025_by_hand(sample):
    layer = roll_forward(sample, 2025).set_index("stand_id")
    area = sample.stands.set_index("stand_id")["stand_area_ha"]
    for sid, (planted, age, volume, status) in HAND_FY2025.items():
        row = layer.loc[sid]
        assert (row["planted_year"], row["age"], row["status"]) == (planted, age, status), sid
        assert row["volume_m3_ha"] == pytest.approx(volume, abs=1e-9), sid
        assert row["volume_m3"] == pytest.approx(volume * area[sid], rel=1e-12), sid
        assert row["fiscal_year"] == 2025
    assert layer.loc["5-5-1", "last_operation"] == "replanting"
    assert layer.loc["5-5-1", "last_operation_date"] == "2023-05-04"
    assert layer.loc["5-5-1", "crops"] == "2023:1.000"
    assert layer.loc["1-1-1", "last_thinning"] == "2006-11-24"
    assert np.isnan(layer.loc["24-1-1", "volume_m3_ha"])  # bamboo: no yield curve


def test_roll_forward_is_a_valid_stands_layer(sample):
    layer = roll_forward(sample, 2025)
    attrs = pd.DataFrame(layer.drop(columns="geometry"))
    _, problems = validate(attrs.astype({"age": str}), STANDS, "stands_fy2025.gpkg")
    assert problems == []
    assert layer.crs.equals("EPSG:6673")
    assert len(layer) == len(sample.stands)


def test_register_diff_fy2021_to_fy2025(sample):
    cohorts = program_cohorts(sample)
    before = roll_forward(sample, 2021, cohorts=cohorts)
    after = roll_forward(sample, 2025, cohorts=cohorts)
    diff = register_diff(before, after).set_index("stand_id")
    row = diff.loc["5-5-1"]
    # FY2021: hinoki II planted 1959, age 63 -> 383.7 + 3/5 * (405.5 - 383.7) = 396.78
    assert (row["planted_year_before"], row["planted_year_after"]) == (1959, 2023)
    assert (row["age_before"], row["age_after"]) == (63, 3)
    assert row["volume_before_m3_ha"] == pytest.approx(396.78)
    assert row["volume_after_m3_ha"] == pytest.approx(3.3)
    assert (row["status_before"], row["status_after"]) == ("standing", "replanted")
    assert diff.loc["1-1-1", "age_after"] - diff.loc["1-1-1", "age_before"] == 4


def test_register_update_cli(tmp_path, capsys):
    folder = tmp_path / "sample"
    shutil.copytree(SAMPLE, folder)
    args = ["register", "update", str(folder), "--to-fy", "2025", "--from-fy", "2021"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "5-5-1: final_harvest (主伐); replanting (再造林); planted_year 1959 -> 2023" in out
    assert "15-6-1: final_harvest (主伐); status standing -> felled" in out
    gpkg = folder / "stands_fy2025.gpkg"
    info = pyogrio.read_info(gpkg, layer="stands_fy2025")
    assert info["crs"] == "EPSG:6673" and info["geometry_type"] == "Polygon"
    assert info["features"] == 410
    diff = pd.read_csv(folder / "stands_fy2025_diff.csv", encoding="utf-8-sig")
    assert diff.loc[diff["stand_id"] == "5-5-1", "operations"].item() == (
        "final_harvest 2022-10-06 2.15 ha; replanting 2023-05-04 2.15 ha"
    )
    text = (folder / "stands_fy2025_diff.txt").read_text(encoding="utf-8")
    assert "FY2021 -> FY2025" in text
    # the old register is untouched and a second update is refused without --overwrite
    assert (folder / "stands.gpkg").read_bytes() == (SAMPLE / "stands.gpkg").read_bytes()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "--overwrite" in err and "Traceback" not in err
    assert main([*args, "--overwrite"]) == 0
    assert main(["-q", "register", "update", str(folder), "--to-fy", "2025", "--from-fy", "2025"])
    assert "--from-fy" in capsys.readouterr().err


def test_register_update_is_the_same_on_each_store(store_kind, tmp_path, capsys):
    # the sample's operations recorded in a GeoPackage or PostgreSQL store (whose stands layer
    # the program then reads) roll the register forward exactly as the CSV does
    outputs = {}
    for name, lines in (("csv", ""), ("store", store_kind)):
        folder = tmp_path / name
        shutil.copytree(SAMPLE, folder)
        toml = (folder / "program.toml").read_text(encoding="utf-8")
        (folder / "program.toml").write_text(
            toml.replace("[fo001]", lines + "\n[fo001]", 1), encoding="utf-8"
        )
        if lines:
            assert main(["-q", "ops", "import", str(folder), str(SAMPLE / "operations.csv")]) == 0
        args = ["-q", "register", "update", str(folder), "--to-fy", "2025", "--from-fy", "2021"]
        assert main(args) == 0
        layer = pyogrio.read_dataframe(folder / "stands_fy2025.gpkg")
        outputs[name] = (
            (folder / "stands_fy2025_diff.csv").read_bytes(),
            layer.drop(columns="geometry").sort_values("stand_id").reset_index(drop=True),
            layer.sort_values("stand_id").geometry.area.to_numpy(),
        )
    capsys.readouterr()
    assert outputs["csv"][0] == outputs["store"][0]
    pd.testing.assert_frame_equal(outputs["csv"][1], outputs["store"][1])
    np.testing.assert_allclose(outputs["csv"][2], outputs["store"][2], rtol=1e-9)
