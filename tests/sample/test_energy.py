"""The bundled sample's solar and air-conditioning data (forestcarbon.sample.energy): every
EN-R-002/EN-S-004 case present, Tsuyama-sized totals, Shift_JIS files, README examples."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from forestcarbon.core.config import load_settings
from forestcarbon.inputs.energy import load_energy
from forestcarbon.methods.energy import compute_energy
from tests.energy_fixtures import summary


@pytest.fixture(scope="module")
def sample_energy():
    from forestcarbon import SAMPLE_PROGRAM
    from forestcarbon.sample.energy import energy_cases, generate_energy
    from forestcarbon.sample.program import SEED

    settings = load_settings(SAMPLE_PROGRAM)
    result = compute_energy(load_energy(SAMPLE_PROGRAM, settings), settings)
    return SAMPLE_PROGRAM, result, energy_cases(generate_energy(SEED))


def test_sample_energy_exercises_every_case(sample_energy):
    _, result, cases = sample_energy
    period = "2023-04-01/2024-03-31"
    pv = result.solar[result.solar["period"] == period].set_index("site_id")
    assert len(pv) == 464 and all(len(ids) >= 2 for ids in cases.values())
    assert pv.loc[cases["pv_measured"], "method"].eq("measured").all()
    assert pv.loc[cases["pv_measured"], "eligible"].all()
    estimated = pv.loc[cases["pv_estimated"]]
    assert estimated["method"].eq("estimated").all()
    assert "prorated_to_eligibility" in pv.loc[cases["pv_joined_fy2023"][0], "flags"]
    started = pv.loc[cases["pv_commissioned_fy2023"]]
    later = started[["commissioned", "joined"]].max(axis=1)
    assert (started["eligible_from"] == later).all()
    assert (
        started["counted_days"] == (dt.date(2024, 3, 31) - later).map(lambda d: d.days + 1)
    ).all()
    blocked = pv.loc[cases["pv_blocked"]]
    assert not blocked["eligible"].any() and blocked["reason"].str.contains("subsidy").all()
    assert pv.loc[cases["pv_monthly"], "counted_days"].eq(366).all()
    assert pv.loc[cases["pv_city_rooftop"], "capacity_kw"].max() == 42
    ac = result.aircon[result.aircon["period"] == period].set_index("unit_id")
    assert ac.loc[cases["ac_single_ratio"], "method"].eq("single_ratio").all()
    assert ac.loc[cases["ac_split"], "method"].eq("split").all()
    assert ac.loc[cases["ac_conservative_ratio"], "method"].eq("conservative_ratio").all()
    unknown = ac.loc[cases["ac_standard_unknown_unit"], "baseline_source"]
    assert unknown.eq("standard_unknown_unit").all()
    old = ac.loc[cases["ac_standard_old_unit"], "baseline_source"]
    assert old.eq("standard_old_unit").all()
    fy22 = result.aircon[result.aircon["period"] == "2022-04-01/2023-03-31"].set_index("unit_id")
    assert not fy22.loc[cases["ac_installed_fy2023"], "eligible"].any()
    assert ac["eligible"].all()


def test_sample_energy_is_tsuyama_sized(sample_energy):
    folder, result, _ = sample_energy
    s = summary(result)
    # Tsuyama sold 300 t from 460 households' PV; ~0.7 t per household-year
    pv = Decimal(s.loc[("EN-R-002", "2023-04-01/2024-03-31"), "total_tco2"])
    assert 250 < pv < 450
    assert 10 < Decimal(s.loc[("EN-S-004", "2023-04-01/2024-03-31"), "total_tco2"]) < 100
    raw = (folder / "solar.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("cp932").startswith("設備ID,容量(kW)")


def test_sample_readme_energy_examples_match_the_data(sample_energy):
    folder, _, cases = sample_energy
    rows = {}
    for line in (folder / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `(\w+)` \|", line)
        if match and match.group(1) in cases:
            rows[match.group(1)] = re.findall(r"`([A-Z]+-\d+)`", line)
    assert set(rows) == set(cases)
    for case, ids in rows.items():
        assert ids and set(ids) <= set(cases[case]), case
