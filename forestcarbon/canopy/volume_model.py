"""A learned stand-volume model [m3/ha] from raster metrics, age and species, fitted to field plots.

:func:`fit_volume_model` fits a scikit-learn regressor (gradient boosting or random forest) and
a linear baseline on canopy height alone, both scored by cross-validation with folds grouped by
stand (a model is never scored on a stand it saw); the prediction interval comes from the
out-of-fold residual quantiles. :class:`VolumeModel` predicts only inside the plots' feature
range widened by DOMAIN_MARGIN. :func:`fit_to_plots` joins a program's plots to the canopy table
and fits the model when there are enough of them. scikit-learn is imported only when fitting.

:func:`model_volumes` (the canopy step) keeps the fit's scores and the stands' predictions in the
user's cache (:mod:`forestcarbon.core.cache`) under a sha256 of the plots, the stands' features,
the settings, this module's source and the library versions: the same program validated or run
again gets the same numbers, bit for bit, without fitting again (the estimator itself is fitted
only when asked for, :attr:`VolumeModel.estimator`).
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forestcarbon.core.cache import content_key, read_entry, write_entry
from forestcarbon.core.exceptions import InputError, Problem

if TYPE_CHECKING:
    from forestcarbon.core.config import CanopySettings

log = logging.getLogger("forestcarbon")


DOMAIN_MARGIN = 0.1
"""The volume model predicts within the plots' feature range widened by this share of it."""

MIN_PLOTS, MIN_PLOT_STANDS = 10, 5
"""Fewest plots, and fewest distinct stands holding them, to fit and score a volume model."""


BASELINE_FEATURES = ("canopy_mean_m",)
"""The linear baseline: stand volume against mean canopy height, the best single variable."""

MODEL_FEATURES = (
    "canopy_mean_m",
    "canopy_p90_m",
    "canopy_p95_m",
    "cover_mean",
    "age_years",
    "volume_canopy_site_m3_ha",
)
"""Numeric features of the learned model (cover only when every plot stand has it), plus one
indicator column per species. ``volume_canopy_site_m3_ha`` is the yield table's volume at the
site class the canopy height indicates (the register route with the laser-derived site class); the
model learns how far the stands depart from it."""


def _estimator(kind: str, seed: int):
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import LinearRegression

    if kind == "linear":
        return LinearRegression()
    if kind == "gradient_boosting":
        return GradientBoostingRegressor(
            n_estimators=300,
            learning_rate=0.05,
            max_depth=2,
            min_samples_leaf=3,
            subsample=0.8,
            random_state=seed,
        )
    if kind == "random_forest":
        return RandomForestRegressor(n_estimators=500, min_samples_leaf=2, random_state=seed)
    raise ValueError(f"unknown volume model {kind!r}")


@dataclass(frozen=True)
class VolumeModel:
    """A fitted stand-volume model and its honest (grouped cross-validated) scores.

    Attributes
    ----------
    kind : str
        ``gradient_boosting`` or ``random_forest``.
    features : tuple of str
        Numeric feature columns used.
    species : tuple of str
        Species with an indicator column (those of the plots).
    scores : DataFrame
        One row per model (the learned one and the linear baseline): model, features,
        n_plots, n_stands, n_folds, rmse_m3_ha, relative_rmse, r2 (out-of-fold, folds grouped by
        stand so no stand is in both the training and the test part).
    residual_low, residual_high : float
        Quantiles of the out-of-fold residuals [m3/ha] that give the prediction interval.
    interval : float
        Coverage of the prediction interval [0-1].
    domain : DataFrame
        Per numeric feature, the ``low`` and ``high`` end of the range the model may predict in:
        the plots' range widened by DOMAIN_MARGIN of its width on each side.
    fit : callable
        ``fit() -> sklearn estimator`` fitted on every plot (deterministic: same plots, same
        estimator); called once, when :attr:`estimator` is first used.
    """

    kind: str
    features: tuple[str, ...]
    species: tuple[str, ...]
    scores: pd.DataFrame
    residual_low: float
    residual_high: float
    interval: float
    domain: pd.DataFrame
    fit: Callable[[], object] = field(repr=False, compare=False)

    @functools.cached_property
    def estimator(self):
        """The sklearn estimator fitted on every plot (fitted on first use)."""
        return self.fit()

    def design(self, table: pd.DataFrame) -> pd.DataFrame:
        """Feature matrix of ``table`` (numeric features, then one column per species)."""
        return _design(table, self.features, self.species)

    def predict(self, table: pd.DataFrame) -> pd.DataFrame:
        """Predicted volume and interval [m3/ha] of every row with complete features (else NaN).

        Returns
        -------
        DataFrame
            volume_model_m3_ha, volume_model_low_m3_ha, volume_model_high_m3_ha; NaN for stands
            of a species without plots or with a feature outside :attr:`domain` (a tree model
            cannot extrapolate: it is not asked to).
        """
        x = self.design(table)
        numeric = x[list(self.features)]
        inside = numeric.ge(self.domain["low"]) & numeric.le(self.domain["high"])
        ok = inside.all(axis=1).to_numpy() & table["species"].isin(self.species).to_numpy()
        pred = np.full(len(table), np.nan)
        if ok.any():
            pred[ok] = np.maximum(self.estimator.predict(x[ok]), 0.0)
        return pd.DataFrame(
            {
                "volume_model_m3_ha": pred,
                "volume_model_low_m3_ha": np.maximum(pred + self.residual_low, 0.0),
                "volume_model_high_m3_ha": pred + self.residual_high,
            },
            index=table.index,
        )


def _design(table: pd.DataFrame, features, species) -> pd.DataFrame:
    x = table[list(features)].astype(float)
    for sp in species:
        x[f"species_{sp}"] = (table["species"] == sp).astype(float)
    return x


def _scores(name: str, features, y, pred, groups, n_folds: int) -> dict:
    resid = y - pred
    rmse = float(np.sqrt(np.mean(resid**2)))
    return {
        "model": name,
        "features": " ".join(features),
        "n_plots": len(y),
        "n_stands": len(np.unique(groups)),
        "n_folds": n_folds,
        "rmse_m3_ha": rmse,
        "relative_rmse": rmse / float(np.mean(y)),
        "r2": float(1.0 - np.sum(resid**2) / np.sum((y - np.mean(y)) ** 2)),
    }


def fit_volume_model(
    plots: pd.DataFrame,
    *,
    kind: str = "gradient_boosting",
    interval: float = 0.9,
    n_splits: int = 5,
    seed: int = 0,
) -> VolumeModel:
    """Fit a stand-volume model to field plots and score it by cross-validation grouped by stand.

    Parameters
    ----------
    plots : DataFrame
        One row per plot: stand_id, volume_m3_ha (measured) [m3/ha], species, age_years and the
        canopy statistics of the plot's stand (canopy_mean_m, canopy_p90_m, canopy_p95_m [m],
        cover_mean [0-1]; cover may be all NaN).
    kind : {"gradient_boosting", "random_forest"}
    interval : float
        Coverage of the prediction interval [0-1].
    n_splits : int
        Cross-validation folds (fewer when there are fewer stands).
    seed : int
        Random state of the estimators (results are deterministic).

    Returns
    -------
    VolumeModel
        Fitted on all plots; ``scores`` holds the learned model's and the linear baseline's
        out-of-fold RMSE [m3/ha], relative RMSE [-] and R² [-].

    Notes
    -----
    Plots of one stand share the stand's raster metrics, so folds are grouped by stand
    (``GroupKFold``): a model is never scored on a stand it saw. The interval is the fitted
    prediction plus the ``(1 - interval)/2`` and ``(1 + interval)/2`` quantiles of the out-of-fold
    residuals (a cross-validation version of split-conformal prediction).
    """
    import sklearn

    # the 1,800 small trees of the folds spend most of their time checking parameters and inputs
    # that are checked in _fit once (finite numbers; fixed settings): skipping the checks gives the
    # same trees, bit for bit, about a quarter faster
    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        return _fit(plots, kind=kind, interval=interval, n_splits=n_splits, seed=seed)


def _fit(plots: pd.DataFrame, *, kind: str, interval: float, n_splits: int, seed: int):
    from sklearn.model_selection import GroupKFold, cross_val_predict

    features, species, x, y = _training_data(plots)
    groups = plots["stand_id"].to_numpy()
    n_folds = min(n_splits, len(np.unique(groups)))
    folds = GroupKFold(n_splits=n_folds)
    x_base = _design(plots, BASELINE_FEATURES, ())
    pred = cross_val_predict(_estimator(kind, seed), x, y, groups=groups, cv=folds)
    pred_base = cross_val_predict(_estimator("linear", seed), x_base, y, groups=groups, cv=folds)
    scores = pd.DataFrame(
        [
            _scores(
                kind, (*features, *(f"species_{s}" for s in species)), y, pred, groups, n_folds
            ),
            _scores("linear_baseline", BASELINE_FEATURES, y, pred_base, groups, n_folds),
        ]
    )
    resid = y - pred
    low, high = np.quantile(resid, [(1 - interval) / 2, (1 + interval) / 2])
    scores["interval"] = interval
    scores["interval_low_m3_ha"] = [low, np.nan]
    scores["interval_high_m3_ha"] = [high, np.nan]
    lo, hi = x[list(features)].min(), x[list(features)].max()
    domain = pd.DataFrame(
        {"low": lo - DOMAIN_MARGIN * (hi - lo), "high": hi + DOMAIN_MARGIN * (hi - lo)}
    )
    return VolumeModel(
        kind,
        features,
        species,
        scores,
        float(low),
        float(high),
        interval,
        domain,
        fit=functools.partial(_fit_all, kind, seed, x, y),
    )


def _training_data(plots: pd.DataFrame) -> tuple:
    """What a fit learns from: (features, species, design matrix, measured volumes [m3/ha]).

    Numeric features are those of MODEL_FEATURES every plot has (cover only when every plot stand
    has it); species are the plots' own, sorted. Checked here, before any fit (and by
    :func:`model_volumes` without fitting, for ``validate``): features and volumes finite.
    """
    features = tuple(f for f in MODEL_FEATURES if f in plots.columns and plots[f].notna().all())
    species = tuple(sorted(plots["species"].unique()))
    y = plots["volume_m3_ha"].to_numpy(dtype=float)
    x = _design(plots, features, species)
    if not (np.isfinite(x.to_numpy(dtype=float)).all() and np.isfinite(y).all()):
        raise ValueError("volume model: plot features and volumes must be finite numbers")
    return features, species, x, y


def _fit_all(kind: str, seed: int, x: pd.DataFrame, y: np.ndarray):
    """The estimator fitted on every plot (``x`` the design matrix, ``y`` volumes [m3/ha])."""
    import sklearn

    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        return _estimator(kind, seed).fit(x, y)


def fit_to_plots(
    table: pd.DataFrame, plots: pd.DataFrame | None, settings: CanopySettings
) -> VolumeModel | None:
    """The program's volume model: its field plots joined to their stands' canopy statistics.

    Parameters
    ----------
    table : DataFrame
        Per stand canopy table (:func:`forestcarbon.canopy.step.canopy_table` before the model
        columns): stand_id and the features of MODEL_FEATURES.
    plots : DataFrame or None
        plot_id, stand_id, volume_m3_ha [m3/ha] (:func:`forestcarbon.canopy.inputs.read_plots`).
    settings : CanopySettings
        ``volume_model``, ``interval``, ``volume_source`` and ``plots`` (for messages).

    Returns
    -------
    VolumeModel or None
        None without plots, or (logged) with fewer than MIN_PLOTS usable plots in
        MIN_PLOT_STANDS stands; plots in stands without canopy statistics are left out (logged).

    Raises
    ------
    InputError
        Too few usable plots while ``volume_source = "model"`` needs the model.
    """
    data = _usable_plots(table, plots, settings)
    if data is None:
        return None
    return fit_volume_model(data, kind=settings.volume_model, interval=settings.interval)


PREDICTED = ["volume_model_m3_ha", "volume_model_low_m3_ha", "volume_model_high_m3_ha"]
"""Columns of :meth:`VolumeModel.predict` [m3/ha]."""


def model_volumes(
    table: pd.DataFrame,
    plots: pd.DataFrame | None,
    settings: CanopySettings,
    *,
    fit: bool = True,
) -> tuple[VolumeModel | None, pd.DataFrame]:
    """:func:`fit_to_plots` and the model's predictions for ``table``, kept in the user's cache.

    ``fit=False`` (``validate``): every check a fit makes of the plots (too few usable plots while
    ``volume_source = "model"`` needs the model, the same messages and log lines; features and
    volumes finite), without fitting: no model, predictions NaN. A fit of valid plots reports no
    problem of the inputs (its scores and predictions are results, written by ``run``), and it was
    half of a first ``validate``'s time (scikit-learn's import and the cross-validated fit: about
    1.8 s of 3.6 s CPU on the sample, cProfile with ``FORESTCARBON_CACHE=off``).

    Returns
    -------
    model : VolumeModel or None
        As :func:`fit_to_plots` (same checks, same messages).
    predicted : DataFrame
        :meth:`VolumeModel.predict` of ``table`` (columns PREDICTED [m3/ha]; all NaN without a
        model), indexed like ``table``.

    Notes
    -----
    The cache entry (:mod:`forestcarbon.core.cache`) is keyed by a sha256 of the usable plots
    (features, species, stands, measured volumes, in order), the stands' features and species,
    the model settings, this module's source and the versions of Python, numpy, pandas and
    scikit-learn; it holds the cross-validated scores, the interval, the domain and the
    predictions (JSON numbers round-trip exactly), so a hit gives the same numbers bit for bit
    without importing scikit-learn.
    """
    data = _usable_plots(table, plots, settings)
    if data is not None and not fit:
        _training_data(data)  # the checks of a fit, without the fit
    if data is None or not fit:
        return None, pd.DataFrame(np.nan, index=table.index, columns=PREDICTED)
    kind, interval = settings.volume_model, settings.interval
    key = content_key(
        "volume_model",
        _code_versions(),
        kind,
        interval,
        data[[c for c in (*MODEL_FEATURES, "species", "stand_id", "volume_m3_ha") if c in data]],
        table[[c for c in (*MODEL_FEATURES, "species") if c in table]],
    )
    cached = read_entry("volume_model", key)
    if cached is not None:
        try:
            model, predicted = _from_entry(cached, data, table, kind, interval)
        except (KeyError, TypeError, ValueError) as e:  # a foreign entry: fit again
            log.debug("volume model: cache entry %s ignored (%s)", key, e)
        else:
            log.info(
                "canopy: volume model of %d field plots (cross-validated before, from the cache)",
                len(data),
                extra={"progress": 0.25},
            )
            return model, predicted
    log.info(
        "canopy: volume model, cross-validated on %d field plots",
        len(data),
        extra={"progress": 0.25},
    )
    model = fit_volume_model(data, kind=kind, interval=interval)
    predicted = model.predict(table)
    write_entry("volume_model", key, _to_entry(model, predicted))
    return model, predicted


@functools.cache
def _code_versions() -> tuple:
    """What else a fit depends on: this module's source and the libraries' versions."""
    return (
        Path(__file__).read_bytes().decode("utf-8"),
        sys.version,
        platform.machine(),
        np.__version__,
        pd.__version__,
        importlib.metadata.version("scikit-learn"),
    )


def _to_entry(model: VolumeModel, predicted: pd.DataFrame) -> dict:
    scores = model.scores
    return {
        "features": list(model.features),
        "species": list(model.species),
        "scores": {
            "columns": list(scores.columns),
            "data": scores.astype(object).to_numpy().tolist(),
        },
        "residual": [model.residual_low, model.residual_high],
        "domain": {
            "features": list(model.domain.index),
            "low": model.domain["low"].tolist(),
            "high": model.domain["high"].tolist(),
        },
        "predicted": {c: predicted[c].tolist() for c in PREDICTED},
    }


def _from_entry(
    entry: dict, data: pd.DataFrame, table: pd.DataFrame, kind: str, interval: float
) -> tuple[VolumeModel, pd.DataFrame]:
    features, species = tuple(entry["features"]), tuple(entry["species"])
    scores = pd.DataFrame(entry["scores"]["data"], columns=entry["scores"]["columns"])
    scores = scores.infer_objects()
    domain = pd.DataFrame(
        {"low": entry["domain"]["low"], "high": entry["domain"]["high"]},
        index=entry["domain"]["features"],
        dtype=float,
    )
    predicted = pd.DataFrame(
        {c: np.asarray(entry["predicted"][c], dtype=float) for c in PREDICTED}, index=table.index
    )
    if len(predicted) != len(table) or list(domain.index) != list(features):
        raise ValueError("entry does not match the stands")
    low, high = (float(v) for v in entry["residual"])
    x = _design(data, features, species)
    y = data["volume_m3_ha"].to_numpy(dtype=float)
    fit = functools.partial(_fit_all, kind, 0, x, y)
    model = VolumeModel(kind, features, species, scores, low, high, interval, domain, fit=fit)
    return model, predicted


def _usable_plots(
    table: pd.DataFrame, plots: pd.DataFrame | None, settings: CanopySettings
) -> pd.DataFrame | None:
    """The plots in stands with canopy statistics, joined to them; None when there are too few
    (logged; an InputError when ``volume_source = "model"`` needs the model) or no plots."""
    if plots is None:
        return None
    data = plots.merge(table, on="stand_id", how="left")
    needed = settings.volume_source == "model"
    usable = data["canopy_mean_m"].notna()
    if (~usable).any():
        log.info(
            "volume model: %d plot(s) in stands without canopy statistics left out: %s",
            int((~usable).sum()),
            ", ".join(data.loc[~usable, "plot_id"].astype(str)),
        )
    data = data[usable]
    if len(data) < MIN_PLOTS or data["stand_id"].nunique() < MIN_PLOT_STANDS:
        if needed:
            raise InputError(
                Problem(
                    settings.plots,
                    "",
                    "",
                    f"volume_source = 'model' needs at least {MIN_PLOTS} usable plots in "
                    f"{MIN_PLOT_STANDS} stands; found {len(data)} in "
                    f"{data['stand_id'].nunique()}",
                )
            )
        log.warning(
            "volume model: %d usable plot(s) in %d stand(s); at least %d plots in %d stands are "
            "needed: no model",
            len(data),
            data["stand_id"].nunique(),
            MIN_PLOTS,
            MIN_PLOT_STANDS,
        )
        return None
    return data.reset_index(drop=True)
