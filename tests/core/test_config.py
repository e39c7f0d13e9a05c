"""program.toml settings: defaults, validation, documentation."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from forestcarbon.core.config import SECTIONS, parse_settings
from forestcarbon.core.exceptions import ConfigError

MINIMAL = {
    "program": {"name": "x"},
    "periods": [{"start": dt.date(2023, 4, 1), "end": dt.date(2024, 3, 31)}],
}


def test_defaults_match_design():
    s = parse_settings(MINIMAL)
    assert (
        s.fo001.bef_convention,
        s.fo001.eligible_area,
        s.fo001.thinning_accounting,
        s.fo001.area_source,
        s.fo001.carbon_fraction,
        s.fo001.buffer_rate,
    ) == ("increment", "treated", "embedded", "geometry", "inventory", 0.0)
    assert s.program.crs == "EPSG:6673" and s.map.privacy_k == 5
    assert s.periods[0].days == 366


def test_integer_accepted_for_float_setting():
    s = parse_settings({**MINIMAL, "fo001": {"buffer_rate": 0}})
    assert s.fo001.buffer_rate == 0.0


@pytest.mark.parametrize(
    ("section", "key", "value", "needle"),
    [
        ("fo001", "buffer_rate", 1.5, "[0.0, 1.0]"),
        ("fo001", "eligible_area", "all", "'treated', 'stand'"),
        ("fo001", "buffer_rate", "5%", "expected a float"),
        ("map", "privacy_k", 0, "[1, 1000]"),
        ("map", "privacy_k", True, "expected a int"),
        ("energy", "emission_factor", True, "expected a float or str"),
        ("energy", "estimate_missing", 1, "expected true/false"),
    ],
)
def test_bad_values_name_the_setting(section, key, value, needle):
    with pytest.raises(ConfigError) as e:
        parse_settings({**MINIMAL, section: {key: value}})
    assert f"[{section}] {key}" in str(e.value) and needle in str(e.value)


def test_overlapping_periods_are_refused():
    periods = [
        {"start": dt.date(2023, 4, 1), "end": dt.date(2024, 3, 31)},
        {"start": dt.date(2024, 1, 1), "end": dt.date(2024, 12, 31)},
    ]
    with pytest.raises(ConfigError, match="overlap"):
        parse_settings({**MINIMAL, "periods": periods})


def test_readme_documents_every_setting():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for name, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert f"`[{name}] {f.name}`" in readme, f"README lacks [{name}] {f.name}"
