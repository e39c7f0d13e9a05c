"""The volume model: better than the linear baseline on held-out stands; folds grouped by stand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forestcarbon import SAMPLE_PROGRAM


def test_volume_model_beats_the_linear_baseline_on_held_out_stands(sample_canopy):
    _, result, _ = sample_canopy
    scores = result.model.scores.set_index("model")
    model, baseline = scores.loc["gradient_boosting"], scores.loc["linear_baseline"]
    assert model["n_plots"] == 60 and model["n_stands"] == 45 and model["n_folds"] == 5
    assert model["rmse_m3_ha"] < baseline["rmse_m3_ha"]
    assert model["r2"] > baseline["r2"]
    measured = pd.read_csv(SAMPLE_PROGRAM / "plots.csv")["volume_m3_ha"].mean()
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
