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
from forestcarbon.canopy.volume_model import model_volumes
from forestcarbon.core.exceptions import InputError
from forestcarbon.core.files import csv_bytes
from forestcarbon.inputs.program import load_program
from forestcarbon.run import validate_program
from tests.conftest import assert_refused


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


def test_validate_checks_the_plots_but_never_fits_the_volume_model(tmp_path):
    """A fit of valid plots reports no problem (its scores and predictions are results ``run``
    writes): ``validate`` checks the plots and does not fit, so scikit-learn is not imported even
    with an empty cache. Only the user's cache is written (the zonal statistics, which ``run``
    then reads): the program folder and the working folder stay as they were."""
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
    assert runs == ["False", "False"]  # empty cache, then filled: never fitted
    assert snapshot() == before and list(work.iterdir()) == []
    entries = sorted(p.parent.name for p in (tmp_path / "cache").rglob("*.json"))
    assert entries == ["canopy_zonal"]


def _model_program(tmp_path, plots: int):
    """A copy of the sample with ``volume_source = "model"`` and its first ``plots`` plots."""
    folder = tmp_path / "program"
    shutil.copytree(SAMPLE_PROGRAM, folder)
    toml = (folder / "program.toml").read_text(encoding="utf-8")
    (folder / "program.toml").write_text(
        toml.replace("[canopy]\n", '[canopy]\nvolume_source = "model"\n', 1), encoding="utf-8"
    )
    table = pd.read_csv(folder / "plots.csv", dtype=str)
    table.head(plots).to_csv(folder / "plots.csv", index=False)
    return folder


def test_too_few_plots_for_the_model_are_refused_by_validate_as_by_run(
    tmp_path, capsys, monkeypatch
):
    """``volume_source = "model"`` with 9 plots (10 needed): the check a fit makes, kept by
    validate without fitting; same problem line from both commands, nothing written."""
    monkeypatch.setenv("FORESTCARBON_CACHE", "off")
    folder = _model_program(tmp_path, plots=9)
    err = assert_refused(folder, tmp_path, capsys, "plots.csv", "needs at least 10 usable plots")
    assert "found 9 in" in err


def test_validate_accepts_the_model_program_a_run_fits(tmp_path, monkeypatch):
    """The same program with all 60 plots: validate says ok without fitting (the run fits)."""
    monkeypatch.setenv("FORESTCARBON_CACHE", "off")
    folder = _model_program(tmp_path, plots=60)
    assert validate_program(folder).startswith(f"{folder}: ok (410 stands")


def _plot_table(n: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` plots in ``n`` stands (one each) and the stands' canopy table: finite features."""
    ids = [f"s{i}" for i in range(n)]
    table = pd.DataFrame(
        {
            "stand_id": ids,
            "species": "sugi",
            "canopy_mean_m": np.linspace(10.0, 21.0, n),
            "canopy_p90_m": np.linspace(12.0, 23.0, n),
            "canopy_p95_m": np.linspace(13.0, 24.0, n),
            "cover_mean": np.nan,
            "age_years": np.arange(20, 20 + n),
            "volume_canopy_site_m3_ha": np.linspace(150.0, 400.0, n),
        }
    )
    plots = pd.DataFrame(
        {"plot_id": [f"p{i}" for i in range(n)], "stand_id": ids, "volume_m3_ha": 200.0}
    )
    return table, plots


def test_without_fitting_the_same_checks_and_no_model():
    settings = load_program(SAMPLE_PROGRAM).settings.canopy
    table, plots = _plot_table()
    model, predicted = model_volumes(table, plots, settings, fit=False)
    assert model is None and predicted.isna().all().all() and len(predicted) == 12
    # an infinite feature: the fit's own check, with or without fitting
    table.loc[3, "volume_canopy_site_m3_ha"] = np.inf
    for fit in (True, False):
        with pytest.raises(ValueError, match="must be finite numbers"):
            model_volumes(table, plots, settings, fit=fit)
    # 9 plots in 9 stands while the model is needed: the same InputError with or without fitting
    model_settings = dataclasses.replace(settings, volume_source="model")
    table, plots = _plot_table(9)
    messages = []
    for fit in (True, False):
        with pytest.raises(InputError) as e:
            model_volumes(table, plots, model_settings, fit=fit)
        messages.append(str(e.value))
    assert messages[0] == messages[1] and "found 9 in 9" in messages[0]
