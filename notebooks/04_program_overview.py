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
# # Program overview / プログラムの概要
#
# The whole bundled sample program (synthetic data): totals by methodology with their Monte Carlo
# intervals, FO-001 removals by species and age class, the yield curves with the stands on them,
# and the program's interactive map.
#
# The notebook only calls the package; every rule it shows lives in `forestcarbon/`.

# %%
# %matplotlib inline
import os

import pandas as pd

import forestcarbon as fc

PROGRAM = os.environ.get("FORESTCARBON_PROGRAM", str(fc.SAMPLE_PROGRAM))  # a program folder
RUN = os.environ.get("FORESTCARBON_RUN", "")  # optional: a run folder of `forestcarbon run`

inputs = fc.load_program(PROGRAM)
result = fc.compute(inputs)
period = inputs.settings.periods[-1].label
print(result.text())

# %% [markdown]
# ## Totals by methodology and period / 方法論別の合計
#
# `total_tco2` is exact (decimal); credits are whole tonnes, truncated once per methodology and
# period. The interval columns come from the seeded Monte Carlo over the uncertain inputs
# (`[uncertainty]` settings; ranges and their basis in `forestcarbon/data/uncertainty.csv`).

# %%
inputs.settings.uncertainty

# %%
result.summary

# %%
fc.plots.totals_waterfall(result.summary, period)

# %% [markdown]
# ## FO-001 by species and age class / 樹種・齢級別の純吸収量
#
# Net removals [t-CO2] of the eligible stands in the last period, age class (齢級, 5 years) by
# species.

# %%
by_age_class = fc.plots.age_class_table(result.fo001, period)
by_age_class

# %%
by_age_class.sum().rename("net t-CO2 by species 樹種別")

# %%
fc.plots.removals_by_age_class(result.fo001, period)

# %% [markdown]
# Yield curves of the two species with the most stands, with the stands on them.

# %%
in_period = result.fo001[result.fo001["period"] == period]
common = in_period.loc[in_period["species"] != "bamboo", "species"].value_counts().index[:2]
for species in common:
    fc.plots.growth_curves(inputs.yields, result.fo001, species, period)

# %% [markdown]
# ## Uncertainty per stand / 小班ごとの不確実性
#
# The stands with the largest net removals in the last period, with the Monte Carlo mean and
# interval of each.

# %%
columns = ["net_tco2", "net_mean_tco2", "net_low_tco2", "net_high_tco2"]
in_period.nlargest(10, "net_tco2")[["stand_id", "species", "age_end", *columns]]

# %% [markdown]
# ## The program map / プログラム地図
#
# The public edition: stands coloured by net removal rate, household solar only as JIS mesh
# aggregates with at least `[map] privacy_k` households per cell, facilities, totals. The
# JavaScript is inlined; the basemap tiles load when the notebook is viewed online.

# %%
result.map(edition="public", self_contained=True)

# %% [markdown]
# ## The run folder's totals / 実行結果との照合
#
# With `FORESTCARBON_RUN` (`forestcarbon notebooks PROGRAM --run RUN_DIR`), the totals recorded
# in that run's `program_summary.csv` are compared with the ones computed above: every credit
# must be the same (`forestcarbon verify RUN_DIR` compares every file).

# %%
if RUN:
    recorded = pd.read_csv(os.path.join(RUN, "program_summary.csv"), encoding="utf-8-sig")
    keys = ["methodology", "period"]
    both = recorded.merge(result.summary, on=keys, suffixes=(" run", " now"), how="outer")
    display_columns = [*keys, "credits_t run", "credits_t now"]
    differ = both[both["credits_t run"] != both["credits_t now"]]
    print(f"{RUN}: {len(both)} rows, {len(differ)} differ")
    assert differ.empty, differ[display_columns]
    print(both[display_columns].to_string(index=False))
else:
    print("no run folder given (FORESTCARBON_RUN)")
