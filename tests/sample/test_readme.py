"""Tests of the sample README text (forestcarbon.sample.readme): example ids match the data."""

from __future__ import annotations

import re
from pathlib import Path


def test_readme_examples_match_the_data(sample_dir: Path, cases: dict[str, set[str]]) -> None:
    rows = {}
    for line in (sample_dir / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `(\w+)` \|", line)
        if match and match.group(1) in cases:
            rows[match.group(1)] = re.findall(r"`(\d+-\d+-\d+)`", line)
    assert set(rows) == set(cases)
    for case, example_ids in rows.items():
        assert example_ids, case
        assert set(example_ids) <= cases[case], case
