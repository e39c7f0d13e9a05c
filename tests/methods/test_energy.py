"""EN-R-002 and EN-S-004 together: credits, output tables, the whole program, the bundled sample."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pandas as pd
import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.config import load_settings
from forestcarbon.inputs.energy import load_energy
from forestcarbon.methods.en_r002 import SOLAR_COLUMNS
from forestcarbon.methods.en_s004 import AIRCON_COLUMNS
from forestcarbon.methods.energy import compute_energy
from forestcarbon.methods.totals import summary_row
from tests.conftest import stand, write_program
from tests.energy_fixtures import (
    AC_READINGS,
    FY2023,
    READINGS,
    SITES,
    UNITS,
    csv,
    energy_program,
    reading,
    site,
    summary,
)

# --- credits -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("em_bl", "em_pj", "credits"), [(92.4, 56.9, 35), (94.6, 54.6, 40), (21.5, 0.0, 21)]
)
def test_rounding_vectors_of_published_plans(em_bl, em_pj, credits):
    row = summary_row("EN-S-004", "p", [em_bl], [em_pj], ["a"], 0.0)
    assert row["credits_t"] == credits
    assert Decimal(row["total_tco2"]) == Decimal(str(em_bl)) - Decimal(str(em_pj))


# --- outputs -------------------------------------------------------------------------------------


def test_outputs_follow_the_contract_and_are_deterministic(tmp_path):
    folder = energy_program(
        tmp_path / "p",
        solar=csv(SITES + ",address", site("S1") + ",津山市山北520", site("S2")),
        solar_readings=csv(READINGS, reading("S1", 5300, 3710)),
        aircon=csv(UNITS, "A1,市役所,134.004,35.069,2.8,4.2"),
        aircon_readings=csv(AC_READINGS, f"A1,{FY2023[0]},{FY2023[1]},30000"),
    )
    for out in ("a", "b"):
        assert main(["-q", "energy", str(folder), "--out", str(tmp_path / out)]) == 0
    for name in ("solar_sites.csv", "aircon_units.csv", "program_summary.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    solar = pd.read_csv(tmp_path / "a" / "solar_sites.csv")
    assert list(solar.columns) == SOLAR_COLUMNS
    contract = ["site_id", "period", "self_consumed_kwh", "ef_t_per_kwh", "reduction_tco2",
                "method", "eligible", "reason"]  # fmt: skip
    assert set(contract) <= set(solar.columns)
    assert not {"address", "lon", "lat", "geometry"} & set(solar.columns)  # internal, no address
    aircon = pd.read_csv(tmp_path / "a" / "aircon_units.csv")
    assert list(aircon.columns) == AIRCON_COLUMNS
    assert {"unit_id", "period", "baseline_kwh", "project_kwh", "reduction_tco2"} <= set(
        aircon.columns
    )


# --- whole program -------------------------------------------------------------------------------


def test_program_without_energy_inputs_still_runs(tmp_path, capsys):
    folder = write_program(tmp_path / "p", [stand("1-1-1")])
    out = tmp_path / "out"
    assert main(["-q", "run", str(folder), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"fo001_stands.csv", "program_summary.csv", "monitoring_report.xlsx"} <= names
    assert not {"solar_sites.csv", "aircon_units.csv"} & names
    capsys.readouterr()
    assert main(["-q", "energy", str(folder), "--out", str(tmp_path / "e")]) == 1
    assert "no solar or air-conditioning inputs" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_run_adds_energy_to_the_program_totals(tmp_path, capsys):
    folder = write_program(tmp_path / "p", [stand("1-1-1")])
    energy_program(
        folder,
        solar=csv(SITES, site("S1")),
        solar_readings=csv(READINGS, reading("S1", 5300, 3710)),
        aircon=csv(UNITS, "A1,市役所,134.004,35.069,2.8,4.2"),
        aircon_readings=csv(AC_READINGS, f"A1,{FY2023[0]},{FY2023[1]},30000"),
        write_toml=False,
    )
    assert main(["validate", str(folder)]) == 0
    assert "1 PV sites, 1 air-conditioning units" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["-q", "run", str(folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "EN-R-002" in printed and "EN-S-004" in printed and "program" in printed
    table = pd.read_csv(out / "program_summary.csv", dtype={"total_tco2": str})
    rows = table.set_index(["methodology", "period"])
    period = "2023-04-01/2024-03-31"
    energy_total = Decimal("0.69006") + Decimal("6.51")
    program_total = Decimal(rows.loc[("program", period), "total_tco2"])
    fo_total = Decimal(rows.loc[("FO-001", period), "total_tco2"])
    assert program_total == fo_total + energy_total
    assert (
        rows.loc[("program", period), "credits_t"] == rows.loc[("FO-001", period), "credits_t"] + 6
    )
    assert {"solar_sites.csv", "aircon_units.csv", "monitoring_report.xlsx", "summary.md"} <= {
        p.name for p in out.iterdir()
    }


# --- the bundled sample --------------------------------------------------------------------------


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
