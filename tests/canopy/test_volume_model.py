"""The volume model: better than the linear baseline on held-out stands; folds grouped by stand."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.canopy.step import compute_canopy
from forestcarbon.core.files import csv_bytes
from forestcarbon.inputs.program import load_program


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


def test_cached_model_gives_the_same_numbers_bit_for_bit(tmp_path, monkeypatch):
    """A second canopy step of the same program reads the scores and predictions from the cache:
    the tables are byte-identical to a fresh fit, and the estimator (fitted only when asked for)
    predicts exactly what the cache holds."""
    monkeypatch.setenv("FORESTCARBON_CACHE_DIR", str(tmp_path / "cache"))
    inputs = load_program(SAMPLE_PROGRAM)
    fresh = compute_canopy(inputs)
    assert len(list((tmp_path / "cache" / "volume_model").glob("*.json"))) == 1
    cached = compute_canopy(inputs)
    assert "estimator" not in cached.model.__dict__  # not fitted: everything came from the cache
    for name, table in fresh.tables().items():
        assert csv_bytes(cached.tables()[name]) == csv_bytes(table), name
    pd.testing.assert_frame_equal(cached.model.scores, fresh.model.scores, check_exact=True)
    pd.testing.assert_frame_equal(cached.model.domain, fresh.model.domain, check_exact=True)
    again = cached.model.predict(cached.table)
    pd.testing.assert_frame_equal(again, cached.table[again.columns], check_exact=True)


def test_a_changed_plot_or_setting_misses_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FORESTCARBON_CACHE_DIR", str(tmp_path / "cache"))
    inputs = load_program(SAMPLE_PROGRAM)
    first = compute_canopy(inputs)
    folder = tmp_path / "program"
    shutil.copytree(SAMPLE_PROGRAM, folder)
    table = pd.read_csv(folder / "plots.csv", dtype=str)
    table.loc[0, "volume_m3_ha"] = str(float(table.loc[0, "volume_m3_ha"]) + 1.0)  # +1 m3/ha
    table.to_csv(folder / "plots.csv", index=False)
    second = compute_canopy(load_program(folder))
    assert len(list((tmp_path / "cache" / "volume_model").glob("*.json"))) == 2
    assert not second.model.scores.equals(first.model.scores)
    settings = inputs.settings.canopy
    other = dataclasses.replace(settings, interval=0.8)
    inputs_08 = dataclasses.replace(
        inputs, settings=dataclasses.replace(inputs.settings, canopy=other)
    )
    third = compute_canopy(inputs_08)
    assert len(list((tmp_path / "cache" / "volume_model").glob("*.json"))) == 3
    assert third.model.interval == 0.8


def test_validate_with_a_warm_cache_does_not_import_scikit_learn(tmp_path):
    """Only the user's cache is written: the program folder and the working folder stay as they
    were (validate writes nothing there), and the second validate does not fit again."""
    program, work = tmp_path / "program", tmp_path / "work"
    shutil.copytree(SAMPLE_PROGRAM, program)
    work.mkdir()

    def snapshot():
        return {p: p.read_bytes() for p in sorted(program.rglob("*"))}

    before = snapshot()
    env = dict(os.environ, FORESTCARBON_CACHE_DIR=str(tmp_path / "cache"))
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2]), env.get("PYTHONPATH", "")])
    code = (
        "import sys; from forestcarbon.run import validate_program; "
        f"validate_program({str(program)!r}); print('sklearn' in sys.modules)"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        for _ in range(2)
    ]
    assert runs == ["True", "False"]  # fitted the first time; the second read the cache
    assert snapshot() == before and list(work.iterdir()) == []
    # one entry each: the volume model and the zonal statistics
    entries = sorted(p.parent.name for p in (tmp_path / "cache").rglob("*.json"))
    assert entries == ["canopy_zonal", "volume_model"]
