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
# # FO-001 verification: re-deriving stands by hand / 森林経営活動の検証
#
# This notebook runs a program folder (`FORESTCARBON_PROGRAM`; default the bundled sample
# `data/tsuyama-sample/`, synthetic data; `forestcarbon notebooks PROGRAM --out DIR` sets it) and
# re-derives the FO-001 figure of one stand of each kind **by hand**: the yield-table volumes are
# read again from the tabulated rows of the growth table (not the engine's dense curves), the
# parameters again from the packaged parameter table with their sources, and the arithmetic is
# written out in numbers, one fiscal year and one crop at a time
# (`forestcarbon.explain.explain_stand`). Each hand result must match the toolkit's `net_tco2`
# within 1e-6 t-CO2.
#
# The notebook only calls the package; every rule it shows lives in `forestcarbon/`.

# %%
import os

import pandas as pd

import forestcarbon as fc

PROGRAM = os.environ.get("FORESTCARBON_PROGRAM", str(fc.SAMPLE_PROGRAM))  # a program folder
explain = fc.explain  # hand re-derivations, independent of the engine

pd.set_option("display.max_rows", 100)
pd.set_option("display.max_colwidth", 200)

inputs = fc.load_program(PROGRAM)
result = fc.compute(inputs)
period = inputs.settings.periods[-1].label
print(inputs.settings.program.name, "-", period)

# %% [markdown]
# ## Settings of the run / 計算の設定
#
# The FO-001 rule choices, and every setting in use whose rule is **not** confirmed against the
# official methodology text (`Settings.unverified()`): a verifier should check these first.

# %%
inputs.settings.fo001

# %%
pd.DataFrame(inputs.settings.unverified(), columns=["setting 設定", "value 値"])

# %% [markdown]
# ## Parameter sources / パラメータの出典
#
# Wood density, BEF, root ratio and carbon fraction per species row (`fo001_parameters.csv`), and
# the sources of the yield table the program uses.

# %%
fc.load_table("fo001_parameters")[["species", "parameter", "value", "unit", "verified", "source"]]

# %%
inputs.yields.sources()

# %% [markdown]
# ## One stand of each kind / 種類ごとの小班
#
# `pick_examples` takes the first stand of each kind in the period's results; a kind the program
# does not have is said so and skipped.

# %%
examples = explain.pick_examples(result.fo001, period)


def show(kind):
    """Re-derive the example stand of one kind by hand and check it against the engine."""
    if kind not in examples:
        print(f"no stand of this kind ({kind}) in {period}")
        return
    ex = explain.explain_stand(inputs, result.fo001, examples[kind], period)
    print(ex)
    assert ex.matches


examples

# %% [markdown]
# ### Eligible planted stand / 対象の人工林

# %%
show("eligible planted")

# %% [markdown]
# ### Partial thinning: only the treated area counts / 一部間伐 (施業面積のみ算定)

# %%
show("partial thinning")

# %% [markdown]
# ### Protected natural forest / 保安林の天然林

# %%
show("protected natural")

# %% [markdown]
# ### Final harvest: the felled volume is an emission / 主伐 (排出)

# %%
show("harvested")

# %% [markdown]
# ### Replanted after a harvest: two crops / 再造林 (二つの林分)

# %%
show("replanted")

# %% [markdown]
# ### Age 20 -> 21 in the period: the BEF changes / 林齢20→21 (BEFの切替)

# %%
show("age 20 -> 21")

# %% [markdown]
# ### Ineligible stand / 対象外の小班

# %%
show("ineligible")

# %% [markdown]
# ## Every stand of every period / 全小班・全期間
#
# The same hand derivation for all stands: the number that differ must be zero.

# %%
differ = [
    (row.stand_id, row.period)
    for row in result.fo001.itertuples()
    if not explain.explain_stand(inputs, result.fo001, row.stand_id, row.period).matches
]
print(f"{len(result.fo001)} stand-periods re-derived by hand; {len(differ)} differ: {differ}")
assert not differ
