"""The hand re-derivation (explain.py) agrees with the engine for every stand of the sample."""

from __future__ import annotations

import dataclasses

import pytest

from forestcarbon.cli import SAMPLE_DIR
from forestcarbon.explain import explain_stand, pick_examples, tabulated_volume
from forestcarbon.fo001 import compute_fo001
from forestcarbon.inputs import load_program


@pytest.fixture(scope="module")
def sample():
    return load_program(SAMPLE_DIR)


def engine(inputs, **fo001):
    s = dataclasses.replace(inputs.settings.fo001, **fo001)
    inputs = dataclasses.replace(inputs, settings=dataclasses.replace(inputs.settings, fo001=s))
    ops = inputs.operations
    fo = compute_fo001(inputs.stands, ops, inputs.yields, inputs.settings.periods, s)
    return inputs, fo


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"bef_convention": "stock_difference"},
        {"carbon_fraction": "simple", "eligible_area": "stand"},
    ],
)
def test_every_sample_stand_is_reproduced_by_hand(sample, options):
    inputs, fo = engine(sample, **options)
    for row in fo.itertuples():
        ex = explain_stand(inputs, fo, row.stand_id, row.period)
        assert ex.matches, str(ex)


def test_explicit_thinning_is_reproduced(sample):
    ops = sample.operations.copy()
    thin = (ops["operation"] == "thinning") & ops["volume_m3"].isna()
    ops.loc[thin, "volume_m3"] = 5.0
    inputs = dataclasses.replace(sample, operations=ops)
    inputs, fo = engine(inputs, thinning_accounting="explicit")
    period = inputs.settings.periods[-1].label
    thinned = set(
        ops.loc[
            (ops["operation"] == "thinning") & (ops["date"] >= inputs.settings.periods[-1].start),
            "stand_id",
        ]
    )
    for sid in sorted(thinned):
        ex = explain_stand(inputs, fo, sid, period)
        assert ex.matches, str(ex)


def test_examples_cover_each_kind(sample):
    _, fo = engine(sample)
    kinds = pick_examples(fo, sample.settings.periods[-1].label)
    assert {
        "eligible planted",
        "partial thinning",
        "protected natural",
        "harvested",
        "ineligible",
    } <= set(kinds)


def test_tabulated_volume_text(sample):
    v, text = tabulated_volume(sample.yields.table, "hinoki", 2, 54)
    assert v == pytest.approx(330 + (358.6 - 330) * 4 / 5)
    assert text.startswith("V(54) = 330 + (358.6 - 330)")
