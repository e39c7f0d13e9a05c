"""Canopy inputs of a program: every bad setting listed at once; field plots checked and located."""

from __future__ import annotations

import numpy as np
import pytest

from forestcarbon.canopy.inputs import read_plots
from forestcarbon.canopy.step import compute_canopy
from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.program import load_program
from tests.canopy.conftest import X0, Y0, tiny_canopy_program, write_raster


def test_bad_canopy_inputs_are_listed_at_once(program, capsys):
    folder = tiny_canopy_program(program)
    toml = (folder / "program.toml").read_text(encoding="utf-8")
    toml = toml.replace("height_date = 2024-06-01\n", "").replace(
        "cover_before_date = 2021-06-01", 'cover_before_date = "2021-06-01"'
    )
    toml = toml.replace("[canopy]\n", '[canopy]\nplots = "field.csv"\n')
    (folder / "program.toml").write_text(toml, encoding="utf-8")
    write_raster(folder / "cover_2024.tif", np.zeros((3, 3)), crs=None)
    with pytest.raises(InputError) as e:
        compute_canopy(load_program(folder))
    text = str(e.value)
    assert "[canopy] height_date" in text and "it is missing" in text
    assert "[canopy] cover_before_date" in text and "'2021-06-01'" in text
    assert "cover_2024.tif" in text and "no CRS" in text
    assert "field.csv not found" in text
    assert main(["-q", "validate", str(folder)]) == 1  # validate checks the canopy inputs too
    assert "[canopy] height_date" in capsys.readouterr().err


def test_plots_are_checked_and_located(program, tmp_path):
    folder = tiny_canopy_program(program)
    inputs = load_program(folder)
    plots = tmp_path / "plots.csv"
    plots.write_text(
        "plot_id,stand_id,x,y,材積\n"
        f"P1,s0,,,300\nP2,,{X0 + 1050},{Y0 + 50},250\nP3,s9,,,200\n"
        f"P4,,{X0 + 500},{Y0 + 50},100\nP5,s0,{X0 + 1050},{Y0 + 50},100\nP6,,,,100\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as e:
        read_plots(plots, inputs.stands)
    problems = {p.where.split()[1]: p.message for p in e.value.problems}
    assert "unknown stand 's9'" in problems["4"]
    assert "lies in no stand" in problems["5"]
    assert "950 m outside stand 's0'" in problems["6"]
    assert "give the plot's stand_id or its x and y" in problems["7"]
    good = tmp_path / "good.csv"
    good.write_text(f"plot_id,x,y,volume_m3_ha\nP2,{X0 + 1050},{Y0 + 50},250\n", encoding="utf-8")
    assert read_plots(good, inputs.stands).loc[0, "stand_id"] == "s1"
