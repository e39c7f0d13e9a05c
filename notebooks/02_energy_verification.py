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
# # EN-R-002 / EN-S-004 verification: households and air conditioning by hand / 省エネ・再エネの検証
#
# Household solar (EN-R-002) and public-facility air conditioning (EN-S-004) of the bundled
# sample program (synthetic data), re-derived **by hand** from the raw readings and the packaged
# emission-factor table (`forestcarbon.explain.explain_site`, `explain_unit`): eligibility dates,
# fiscal-year splitting by days, estimated sites with their discount, the COP ratio rules
# (one ratio each for cooling and heating metered apart, the conservative single ratio
# otherwise, a standard unit when the old one is unknown or too old) and the per-activity limit.
# Each hand result must match the toolkit's `reduction_tco2` within 1e-6 t-CO2.
#
# The notebook only calls the package; every rule it shows lives in `forestcarbon/`.

# %%
import os
import tempfile

import pandas as pd

import forestcarbon as fc

PROGRAM = os.environ.get("FORESTCARBON_PROGRAM", str(fc.SAMPLE_PROGRAM))  # a program folder
explain = fc.explain  # hand re-derivations, independent of the engine

pd.set_option("display.max_colwidth", 200)

settings = fc.load_settings(PROGRAM)
energy = fc.load_energy(PROGRAM, settings)
result = fc.compute_energy(energy, settings)
first, last = (p.label for p in (settings.periods[0], settings.periods[-1]))
print(settings.program.name, "-", first, "and", last)

# %% [markdown]
# ## Settings and the emission factor / 設定と排出係数
#
# The energy settings, those whose rule is not confirmed against the official text, and the
# factor rows the run used (with their sources).

# %%
settings.energy

# %%
pd.DataFrame(settings.unverified(), columns=["setting 設定", "value 値"])

# %%
energy.factors.table

# %% [markdown]
# ## One household and one unit of each kind / 種類ごとの例
#
# `pick_energy_examples` takes the first site or unit of each kind in a period's results.

# %%
examples = {first: explain.pick_energy_examples(result.solar, result.aircon, first)}
examples[last] = explain.pick_energy_examples(result.solar, result.aircon, last)


def show(kind, period):
    """Re-derive the example site or unit of one kind by hand; a kind the program lacks is
    said so and skipped."""
    if kind not in examples[period]:
        print(f"no site or unit of this kind ({kind}) in {period}")
        return
    if kind.startswith("PV"):
        ex = explain.explain_site(energy, settings, result.solar, examples[period][kind], period)
    else:
        ex = explain.explain_unit(energy, settings, result.aircon, examples[period][kind], period)
    print(ex)
    assert ex.matches


examples

# %% [markdown]
# ### Household, measured / 実測の家庭

# %%
show("PV measured", last)

# %% [markdown]
# ### Household joined during the year: the reading is prorated by days / 年度途中の加入

# %%
show("PV joined in the period", last)

# %% [markdown]
# ### Household without a reading: estimated and discounted / 推計 (割引あり)

# %%
show("PV estimated", last)

# %% [markdown]
# ### Household whose subsidy forbids J-Credit registration / 補助金の条件で対象外

# %%
show("PV blocked by subsidy", last)

# %% [markdown]
# ### Air conditioning, total metering with one COP / 空調 (一括計量)

# %%
show("AC single ratio", last)

# %% [markdown]
# ### Air conditioning, cooling and heating metered apart / 空調 (冷暖別計量)

# %%
show("AC cooling/heating metered apart", last)

# %% [markdown]
# ### Air conditioning, old unit older than twice its statutory life: standard unit / 標準機

# %%
show("AC standard unit (old unit too old)", last)

# %% [markdown]
# ### Air conditioning installed after the period / 期間後に導入

# %%
show("AC ineligible", first)

# %% [markdown]
# ## A reading across two fiscal years / 年度をまたぐ検針
#
# The sample's periods are whole fiscal years and its factor is one constant, so it has no such
# reading. `fc.write_energy_example` writes a tiny program whose one period,
# 2013-10-01 .. 2014-09-30, crosses 1 April 2014, with the factor kind `national_average`
# (FY2013 0.000570, FY2014 0.000554 t-CO2/kWh). Each reading's kWh are spread over its days;
# the 182 days of FY2013 take that year's factor, the 183 days of FY2014 theirs.

# %%
folder = tempfile.TemporaryDirectory()
fc.write_energy_example(folder.name)
ex_settings = fc.load_settings(folder.name)
ex_energy = fc.load_energy(folder.name, ex_settings)
ex_result = fc.compute_energy(ex_energy, ex_settings)
period = ex_settings.periods[0].label
ex_result.solar[["site_id", "counted_days", "counted_kwh", "ef_t_per_kwh", "reduction_tco2"]]

# %% [markdown]
# Household measured over the whole period (10 kWh a day self-consumed): 1,820 kWh x 0.000570 +
# 1,830 kWh x 0.000554 = 2.05122 t-CO2.

# %%
ex = explain.explain_site(ex_energy, ex_settings, ex_result.solar, "EX-PV-1", period)
print(ex)
assert ex.matches

# %% [markdown]
# The same reading for a household that joined on 2014-01-01: 90 days of FY2013 and 183 of FY2014.

# %%
ex = explain.explain_site(ex_energy, ex_settings, ex_result.solar, "EX-PV-2", period)
print(ex)
assert ex.matches

# %% [markdown]
# A household without a reading: the estimate is split by days in the same way.

# %%
ex = explain.explain_site(ex_energy, ex_settings, ex_result.solar, "EX-PV-3", period)
print(ex)
assert ex.matches

# %% [markdown]
# Air conditioning, cooling and heating metered apart, across the two fiscal years.

# %%
ex = explain.explain_unit(ex_energy, ex_settings, ex_result.aircon, "EX-AC-2", period)
print(ex)
assert ex.matches

# %%
folder.cleanup()

# %% [markdown]
# ## Every household and unit of every period / 全件
#
# The same hand derivation for all sites and units of the sample: none may differ.

# %%
no_rows = pd.DataFrame(columns=["site_id", "unit_id", "period"])
solar, aircon = (t if t is not None else no_rows for t in (result.solar, result.aircon))
differ = [
    (row.site_id, row.period)
    for row in solar.itertuples()
    if not explain.explain_site(energy, settings, result.solar, row.site_id, row.period).matches
]
differ += [
    (row.unit_id, row.period)
    for row in aircon.itertuples()
    if not explain.explain_unit(energy, settings, result.aircon, row.unit_id, row.period).matches
]
n = len(solar) + len(aircon)
print(f"{n} site- and unit-periods re-derived by hand; {len(differ)} differ: {differ}")
assert not differ
