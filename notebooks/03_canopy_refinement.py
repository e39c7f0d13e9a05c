# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     notebook_metadata_filter: kernelspec,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Canopy refinement: raster vs register / 樹冠ラスタと森林簿の照合
#
# The stand register (森林簿) is often wrong: site classes guessed decades ago, harvests never
# recorded. The bundled sample program (synthetic data) has a 10 m canopy height model, two
# canopy cover rasters (2021, 2024) and 60 field fc.plots. `forestcarbon.canopy` compares them with
# the register: coverage-weighted zonal statistics per stand, the site class the canopy top
# height indicates at the stand's age, a stand-volume model scored by cross-validation grouped
# by stand, and flags where raster and register disagree. Canopy products check and refine the
# register; they are not credited quantities of their own.
#
# The notebook only calls the package; every rule it shows lives in `forestcarbon/`.

# %%
# %matplotlib inline
import os

import pandas as pd

import forestcarbon as fc

PROGRAM = os.environ.get("FORESTCARBON_PROGRAM", str(fc.SAMPLE_PROGRAM))  # a program folder

pd.set_option("display.max_colwidth", 200)

inputs = fc.load_program(PROGRAM)
result = fc.compute(inputs)
canopy = result.canopy
print(result.text())

# %%
canopy.settings

# %% [markdown]
# ## Top height against age, with the site-class curves / 上層樹高と地位曲線
#
# Each stand's canopy top height (the `[canopy] top_height` quantile of the canopy height model)
# at its crop age on the raster date, coloured by the register's site class, on the yield
# table's dominant-height curves of site classes I-III. A stand on another class's curve is
# flagged `site_class_disagrees` (circled); one far below its curve `canopy_below_expected`
# (crossed: a harvest the register does not know of, or damage).

# %%
fc.plots.canopy_top_heights(canopy.table, inputs.yields, "hinoki")

# %%
fc.plots.canopy_top_heights(canopy.table, inputs.yields, "sugi")

# %% [markdown]
# Stands whose canopy-derived site class differs from the register's, and what crediting the
# derived class would change (`[canopy] site_class_source = "canopy"` applies it).

# %%
canopy.changes

# %% [markdown]
# ## Volume model: cross-validation / 材積モデルの交差検証
#
# A gradient-boosting model of stand volume [m3/ha] from canopy metrics, age and species, fitted
# to the field plots, against the linear baseline (volume from mean canopy height). Scores are
# out-of-fold: folds are grouped by stand, so no stand is in both the training and the test part.

# %%
canopy.model.scores

# %%
fc.plots.volume_table_vs_model(canopy.table)

# %% [markdown]
# ## Flagged stands / 警告のある小班

# %%
pd.Series(fc.CANOPY_FLAGS, name="meaning 意味")

# %%
flagged = canopy.table[canopy.table["flags"] != ""]
flagged[
    [
        "stand_id",
        "species",
        "age_years",
        "site_class_register",
        "site_index_canopy",
        "top_height_m",
        "expected_height_m",
        "cover_change",
        "volume_table_m3_ha",
        "volume_model_m3_ha",
        "flags",
    ]
]

# %%
fc.plots.flagged_stands_map(inputs.stands, canopy.table)
