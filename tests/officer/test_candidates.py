"""Thinning candidates (forestcarbon.officer.candidates) on a hand-made program: rules, added
credits and the ``plan candidates`` files. Expected values are worked by hand in the comments."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.program import load_program
from forestcarbon.officer.candidates import candidates_text, held_stands, thinning_candidates
from tests.conftest import stand

C = 44 / 12
SUGI_OLD = 0.314 * 1.23 * 1.25 * 0.51 * C  # t-CO2/m3 for sugi aged >= 21: 0.90278925
PER_HA_YEAR = 10 * SUGI_OLD  # conftest sugi II grows 10 m3/ha/yr from age 21 to 35: 9.0278925


# --- thinning candidates on a hand-made program --------------------------------------------------


def candidate_program(program, **kw):
    """conftest program (one FY2023 period; crediting FY2023-FY2038 by default)."""
    stands = [
        stand("a", 2.0, planted_year=2004),  # age 22 in FY2025, never thinned: candidate
        stand("b", 1.0, planted_year=2015),  # age 11: too young
        stand("c", 1.0),  # age 33, thinned FY2020: only 5 years ago
        stand("d", 1.0),  # age 33, thinned FY2010: candidate, already eligible
        stand("e", 1.0, planted_year=2004, plan_id=""),  # outside any plan
        stand("f", 1.0, planted_year=2004),  # final harvest scheduled in FY2027
        stand("g", 1.0, species="nara", forest_type="natural", protected=True),  # no rule
        stand("h", 1.0, species="hinoki", planted_year=1960),  # age 66 > 55
    ]
    ops = [
        {"stand_id": "c", "date": "2020-06-01", "operation": "thinning", "area_ha": 1.0},
        {"stand_id": "d", "date": "2010-06-01", "operation": "thinning", "area_ha": 1.0},
        {"stand_id": "f", "date": "2027-10-01", "operation": "final_harvest", "area_ha": 1.0},
    ]
    return program(stands, ops, **kw)


def test_candidates_by_hand(stored_program):
    inputs = load_program(candidate_program(stored_program))
    c = thinning_candidates(inputs, 2025)
    assert c["stand_id"].tolist() == ["a", "d"]
    a = c.iloc[0]
    # a: not eligible (no qualifying work); a whole-stand thinning in FY2025 makes it eligible
    # for FY2025-FY2038 (crediting period FY2023 + 16 years - 1): ages 22..35, each growing
    # 10 m3/ha (200 -> 300 -> 350 over ages 20 -> 30 -> 35): 14 x 10 x 0.90278925 x 2 ha
    assert a["added_tco2"] == pytest.approx(14 * PER_HA_YEAR * 2, abs=1e-6)  # 252.780990
    assert a["added_tco2_per_ha"] == pytest.approx(14 * PER_HA_YEAR, abs=1e-6)
    assert (a["age"], a["thinning_area_ha"], bool(a["eligible_now"])) == (22, 2.0, False)
    assert np.isnan(a["years_since_thinning"])
    assert a["crediting_years"] == "FY2025-FY2038"
    assert "never thinned" in a["rule"]
    d = c.iloc[1]
    # d is eligible already (thinning FY2010): a new thinning adds no credits
    assert (d["added_tco2"], bool(d["eligible_now"]), d["years_since_thinning"]) == (0, True, 15)
    assert "last thinning FY2010 (15 >= 10 years)" in d["rule"]


def test_candidates_with_program_rules(stored_program):
    folder = candidate_program(stored_program, extra_toml='[plan]\nthinning_rules = "rules.csv"\n')
    (folder / "rules.csv").write_text(
        "樹種,最小林齢,最大林齢,間伐間隔\nスギ,23,40,5\n", encoding="cp932"
    )
    c = thinning_candidates(load_program(folder), 2025)
    # a is 22 (< 23); c is 33 and thinned 5 years ago (>= 5); hinoki has no rule now
    assert c["stand_id"].tolist() == ["c", "d"]
    (folder / "rules.csv").write_text("species,min_age,max_age,min_years_between\nsugi,40,20,5\n")
    with pytest.raises(InputError, match="min_age 40 is above max_age 20"):
        thinning_candidates(load_program(folder), 2025)


def test_candidates_cli_writes_a_layer_for_the_map(stored_program, tmp_path, capsys):
    folder = candidate_program(stored_program)
    out = tmp_path / "plan"
    assert main(["plan", "candidates", str(folder), "--fy", "2025", "--out", str(out)]) == 0
    assert "Thinning candidates FY2025: 2 stands" in capsys.readouterr().out
    layer = gpd.read_file(out / "thinning_candidates_fy2025.gpkg", layer="thinning_candidates")
    assert layer.crs.equals("EPSG:6673")
    assert layer["stand_id"].tolist() == ["a", "d"]
    csv = pd.read_csv(out / "thinning_candidates_fy2025.csv", encoding="utf-8-sig")
    assert csv["added_tco2"].iloc[0] == pytest.approx(252.78099, abs=1e-5)


def test_held_stands_are_not_creditable_candidates_by_hand(stored_program):
    inputs = load_program(candidate_program(stored_program))
    flags = pd.Series(
        {
            "a": "canopy_below_expected",
            "d": "canopy_below_expected;site_class_disagrees",
            "f": "canopy_below_expected",  # released: its final harvest is recorded
            "c": "site_class_disagrees",  # another flag: not held
        }
    )
    held = held_stands(inputs, flags)
    assert inputs.stands["stand_id"][held].tolist() == ["a", "d"]
    c = thinning_candidates(inputs, 2025, held=held).set_index("stand_id")
    # a: thinning it would add 252.78 t-CO2 (see test_candidates_by_hand); held, it adds none
    assert bool(c.loc["a", "held"]) and c.loc["a", "added_tco2"] == 0
    assert c.loc["a", "rule"].startswith("保留（要確認） held — awaiting review")
    # d: eligible, age 33 in FY2025 growing 10 m3/ha on 1 ha: 9.0278925 t-CO2 held, 0 credited
    assert c.loc["d", "held_now_tco2"] == pytest.approx(PER_HA_YEAR, abs=1e-9)
    assert c.loc["d", "net_now_tco2"] == pytest.approx(0.0, abs=1e-12)
    free = thinning_candidates(inputs, 2025, held=np.zeros(len(inputs.stands), bool))
    free = free.set_index("stand_id")
    assert free.loc["d", "net_now_tco2"] == pytest.approx(PER_HA_YEAR, abs=1e-9)
    assert free.loc["a", "added_tco2"] == pytest.approx(14 * PER_HA_YEAR * 2, abs=1e-6)
    text = candidates_text(c.reset_index(), 2025)
    assert "保留（要確認） held — awaiting review: 2 stand(s)" in text
    assert "a, d; 9.0 t-CO2 held in FY2025" in text
