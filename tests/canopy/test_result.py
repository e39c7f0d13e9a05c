"""The canopy result applied to FO-001: the register source keeps FO-001 and reports the effect;
model volumes scale the yield curves, never up."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from forestcarbon.canopy.result import CanopyResult
from forestcarbon.canopy.step import compute_canopy
from forestcarbon.inputs.program import load_program
from forestcarbon.methods.fo001 import compute_fo001
from tests.canopy.conftest import tiny_canopy_program

SUGI_T_CO2_PER_M3 = 0.90278925
"""0.314 x 1.23 x 1.25 x 0.51 x 44/12: sugi age >= 21 (FO-001.md §2), by hand [t-CO2/m3]."""


def test_register_source_keeps_fo001_and_still_reports_the_effect(program):
    folder = tiny_canopy_program(program, source="register")
    inputs = load_program(folder)
    s = inputs.settings

    def fo001(stands):
        return compute_fo001(stands, inputs.operations, inputs.yields, s.periods, s.fo001)

    fo, result = compute_canopy(inputs).refine_fo001(inputs.stands, inputs.yields, fo001)
    factor = SUGI_T_CO2_PER_M3
    assert fo.set_index("stand_id").loc["s0", "net_tco2"] == pytest.approx(10 * factor)
    assert not result.changes.loc[0, "applied"]
    assert result.changes.loc[0, "net_tco2_canopy"] == pytest.approx(12 * factor)


def test_volume_source_model_scales_the_yield_curves(sample_canopy, tmp_path):
    inputs, result, _ = sample_canopy
    s = inputs.settings
    model_settings = dataclasses.replace(s.canopy, volume_source="model")
    result = CanopyResult(result.table, result.model, result.inputs, model_settings)

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


@pytest.mark.parametrize("source", ["register", "canopy"])
def test_without_effects_fo001_is_computed_once_as_credited(program, source):
    """``effects=False`` (validate): one FO-001 computation, with the site classes the settings
    credit, equal to what the full refinement returns; no effect table."""
    folder = tiny_canopy_program(program, source=source)
    inputs = load_program(folder)
    s = inputs.settings
    calls = []

    def fo001(stands):
        calls.append(stands["site_class"].tolist())
        return compute_fo001(stands, inputs.operations, inputs.yields, s.periods, s.fo001)

    canopy = compute_canopy(inputs)
    full, _ = canopy.refine_fo001(inputs.stands, inputs.yields, fo001)
    assert len(calls) == 2  # register and canopy classes (s0: class I from its 21 m canopy)
    calls.clear()
    once, result = canopy.refine_fo001(inputs.stands, inputs.yields, fo001, effects=False)
    assert calls == [[1, 2, 2, 2] if source == "canopy" else [2, 2, 2, 2]]
    pd.testing.assert_frame_equal(once, full)
    assert result is canopy and result.changes.empty
