"""A streamed run (``run --stream``): the whole run's summary byte for byte, intervals included;
refusals; verify of a streamed run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.outputs.parquet import part_name
from forestcarbon.run import run_program
from forestcarbon.scale.streamrun import rerun_streamed, run_streamed
from forestcarbon.scale.synthetic import write_synthetic_program
from forestcarbon.verify import verify_run

distributed = pytest.importorskip("distributed")


def program_with_draws(folder, n=1200, per=400, draws=200, basis="central"):
    """A 3-part synthetic program with the Monte Carlo on (200 draws)."""
    p = write_synthetic_program(folder, n, per)
    toml = (p / "program.toml").read_text(encoding="utf-8")
    toml = toml.replace("draws = 0", f'draws = {draws}\ncredit_basis = "{basis}"')
    (p / "program.toml").write_text(toml, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def streamed(tmp_path_factory):
    """A 3-part program run streamed in this process and whole (fo001: no energy, no report)."""
    tmp = tmp_path_factory.mktemp("stream")
    program = program_with_draws(tmp / "prog")
    result = run_streamed(program, tmp / "stream")
    run_program(program, tmp / "whole", fo001_only=True)
    return program, tmp, result


def test_summary_and_intervals_identical_to_the_whole_run(streamed):
    _, tmp, result = streamed
    mine = (tmp / "stream" / "program_summary.csv").read_bytes()
    assert mine == (tmp / "whole" / "program_summary.csv").read_bytes()
    summary = pd.read_csv(tmp / "stream" / "program_summary.csv")
    assert {"total_low_tco2", "total_high_tco2", "credit_basis"} <= set(summary.columns)
    # 3 parts of 400 synthetic stands each
    assert result.compute["stands_per_part"] == [400, 400, 400]
    assert result.stands == 1200


def test_per_stand_parts_hold_the_whole_runs_rows_and_intervals(streamed):
    _, tmp, _ = streamed
    parts = sorted((tmp / "stream" / "fo001_stands.parquet").glob("*.parquet"))
    assert [p.name for p in parts] == [part_name(i) for i in range(3)]
    mine = pd.concat([gpd.read_parquet(p) for p in parts], ignore_index=True)
    whole = pd.read_csv(tmp / "whole" / "fo001_stands.csv", dtype={"stand_id": str})
    assert len(mine) == len(whole) == 1200
    mine = mine.set_index("stand_id").loc[whole["stand_id"]]
    for col in ("net_tco2", "net_low_tco2", "net_high_tco2", "net_mean_tco2"):
        assert mine[col].to_numpy() == pytest.approx(whole[col].to_numpy(), rel=1e-12, abs=1e-9)


def test_provenance_records_every_part_and_the_compute(streamed):
    _, tmp, _ = streamed
    prov = json.loads((tmp / "stream" / "provenance.json").read_text(encoding="utf-8"))
    for layer in ("stands", "operations"):
        for i in range(3):
            record = prov["inputs"][f"{layer}/{part_name(i)}"]
            assert record["path"] == f"{layer}/{part_name(i)}"
            assert len(record["sha256"]) == 64
    assert prov["compute"] == {
        "scheduler": "this process",
        "workers": 1,
        "parts": 3,
        "stands_per_part": [400, 400, 400],
        "streamed": True,
    }
    complete = json.loads((tmp / "stream" / "run_complete.json").read_text(encoding="utf-8"))
    assert sorted(complete["files"]) == [
        *(f"fo001_stands.parquet/{part_name(i)}" for i in range(3)),
        "program_summary.csv",
        "provenance.json",
    ]


def test_lower_bound_credits_as_the_whole_run(tmp_path):
    program = program_with_draws(tmp_path / "prog", n=600, per=300, basis="lower_bound")
    run_streamed(program, tmp_path / "s")
    run_program(program, tmp_path / "w", fo001_only=True)
    mine = (tmp_path / "s" / "program_summary.csv").read_bytes()
    assert mine == (tmp_path / "w" / "program_summary.csv").read_bytes()
    assert b"lower_bound" in mine


def test_cli_stream_on_two_workers_gives_the_whole_runs_summary(tmp_path, capsys):
    program = write_synthetic_program(tmp_path / "prog", 900, 300)  # 3 parts
    assert main(["run", str(program), "--out", str(tmp_path / "whole")]) == 0
    args = ["run", str(program), "--out", str(tmp_path / "s"), "--stream"]
    assert main([*args, "--scheduler", "local:2"]) == 0
    out = capsys.readouterr().out
    assert "streamed run, 900 stands in 3 parts" in out
    summary = (tmp_path / "s" / "program_summary.csv").read_bytes()
    assert summary == (tmp_path / "whole" / "program_summary.csv").read_bytes()
    prov = json.loads((tmp_path / "s" / "provenance.json").read_text(encoding="utf-8"))
    assert prov["compute"]["scheduler"] == "local:2"
    assert prov["compute"]["workers"] == 2


def test_quiet_stream_prints_nothing(tmp_path, capsys):
    program = write_synthetic_program(tmp_path / "prog", 200, 100)
    assert main(["-q", "run", str(program), "--out", str(tmp_path / "s"), "--stream"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_stream_setting_in_program_toml(tmp_path, capsys):
    program = write_synthetic_program(tmp_path / "prog", 200, 100)
    with open(program / "program.toml", "a", encoding="utf-8") as f:
        f.write("\n[compute]\nstream = true\n")
    assert main(["run", str(program), "--out", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "fo001_stands.parquet" / part_name(1)).is_file()
    assert not (tmp_path / "s" / "fo001_stands.csv").exists()


def test_a_program_without_parts_is_refused_naming_convert(sample_run, tmp_path, capsys):
    from forestcarbon import SAMPLE_PROGRAM

    rc = main(["run", str(SAMPLE_PROGRAM), "--out", str(tmp_path / "s"), "--stream"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "stands.gpkg" in err and "forestcarbon convert" in err and "--to geoparquet" in err
    assert not (tmp_path / "s").exists()


def test_a_canopy_raster_is_refused_not_left_out(tmp_path):
    from forestcarbon import SAMPLE_PROGRAM
    from forestcarbon.scale.convert import convert_program

    program = tmp_path / "conv"
    convert_program(SAMPLE_PROGRAM, program, rows_per_partition=205)
    with pytest.raises(InputError) as e:
        run_streamed(program, tmp_path / "out")
    (problem,) = e.value.problems
    assert problem.file.endswith("canopy_height.tif")
    assert "credit more" in problem.message
    assert "remove" not in problem.message  # never suggest dropping the evidence that holds
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


ENERGY_FILES = ("solar.csv", "solar_readings.csv", "aircon.gpkg", "aircon_readings.csv")


def test_energy_inputs_on_the_driver_as_the_whole_run(tmp_path):
    """The sample's PV sites and air-conditioning units in a 3-part synthetic program: energy
    computed on the driver, the summary (FO-001 + EN-R-002 + EN-S-004, intervals, activity counts
    of the program rows) and the energy tables byte for byte those of the whole run."""
    from forestcarbon import SAMPLE_PROGRAM

    program = program_with_draws(tmp_path / "prog", n=150, per=50)
    for name in ENERGY_FILES:
        shutil.copy(SAMPLE_PROGRAM / name, program / name)
    toml = (program / "program.toml").read_text(encoding="utf-8")
    toml = toml.replace(  # the sample's two periods
        "[[periods]]\n", "[[periods]]\nstart = 2022-04-01\nend = 2023-03-31\n\n[[periods]]\n", 1
    )
    (program / "program.toml").write_text(toml, encoding="utf-8")
    with open(program / "program.toml", "a", encoding="utf-8") as f:  # the sample's [energy]
        f.write(
            '\n[energy]\nemission_factor = "substitute"\nstandard_cop_cooling = 3.6\n'
            "standard_cop_heating = 4.0\n"
        )
    result = run_streamed(program, tmp_path / "s")
    run_program(program, tmp_path / "w")
    for name in ("program_summary.csv", "solar_sites.csv", "aircon_units.csv"):
        assert (tmp_path / "s" / name).read_bytes() == (tmp_path / "w" / name).read_bytes(), name
    methods = set(result.summary["methodology"])
    assert methods == {"FO-001", "EN-R-002", "EN-S-004", "program"}
    prov = json.loads((tmp_path / "s" / "provenance.json").read_text(encoding="utf-8"))
    assert {"solar", "solar_readings", "aircon", "aircon_readings"} <= set(prov["inputs"])
    v = verify_run(tmp_path / "s", rerun_streamed=rerun_streamed)
    assert v.ok, (v.inputs, v.outputs, v.values)
    # fo001 --stream leaves energy out, as forestcarbon fo001 does
    run_streamed(program, tmp_path / "f", fo001_only=True)
    run_program(program, tmp_path / "fw", fo001_only=True)
    summary = "program_summary.csv"
    assert (tmp_path / "f" / summary).read_bytes() == (tmp_path / "fw" / summary).read_bytes()
    assert not (tmp_path / "f" / "solar_sites.csv").exists()


def test_a_failing_part_writes_nothing_and_lists_every_parts_problems(tmp_path):
    program = write_synthetic_program(tmp_path / "prog", 300, 100)
    for i in (0, 2):
        path = program / "stands" / part_name(i)
        gdf = gpd.read_parquet(path)
        gdf.loc[1, "species"] = "bamboo?"  # not a species
        gdf.to_parquet(path, index=False)
    with pytest.raises(InputError) as e:
        run_streamed(program, tmp_path / "out")
    files = {p.file for p in e.value.problems}
    assert any(part_name(0) in f for f in files) and any(part_name(2) in f for f in files)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_the_parts_of_a_killed_streamed_run_are_removed_by_the_next_run(tmp_path):
    """A process that made its scratch folder of parts and died without cleaning up (killed):
    the next run into the same folder removes it, and publishes."""
    program = write_synthetic_program(tmp_path / "prog", 300, 100)
    out = tmp_path / "out"
    killed = (
        "import os, sys; from forestcarbon.core.runfolder import scratch_folder; "
        "d = scratch_folder(sys.argv[1]); (d / 'part-00000.parquet').write_bytes(b'half'); "
        "print(d.name); os._exit(0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", killed, str(out)], capture_output=True, text=True, check=True
    )
    leftover = tmp_path / proc.stdout.strip()
    assert leftover.is_dir() and leftover.name.startswith(".out.")
    run_streamed(program, out)
    assert (out / "run_complete.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_verify_a_streamed_run_finds_nothing(streamed, capsys):
    _, tmp, _ = streamed
    v = verify_run(tmp / "stream", rerun_streamed=rerun_streamed)
    assert v.inputs == [] and v.outputs == [] and v.values == {}
    assert v.ok
    assert main(["verify", str(tmp / "stream")]) == 0


def test_verify_names_an_edited_input_part_and_changed_values(tmp_path):
    program = write_synthetic_program(tmp_path / "prog", 300, 100)
    run_streamed(program, tmp_path / "run")
    path = program / "stands" / part_name(1)
    gdf = gpd.read_parquet(path)
    gdf.loc[0, "planted_year"] = gdf.loc[0, "planted_year"] - 10  # an older stand
    gdf.to_parquet(path, index=False)
    v = verify_run(tmp_path / "run", rerun_streamed=rerun_streamed)
    assert any(f"stands/{part_name(1)}" in x and "changed" in x for x in v.inputs)
    assert not any(part_name(0) in x or part_name(2) in x for x in v.inputs)
    changed = v.values.get(f"fo001_stands.parquet/{part_name(1)}", [])
    assert any("2-1-1" in c for c in changed)  # the edited stand's rows, named by id
    assert f"fo001_stands.parquet/{part_name(0)}" not in v.values
    assert not v.ok
    assert main(["verify", str(tmp_path / "run")]) == 1


def test_verify_of_a_streamed_run_needs_the_streamed_rerun(tmp_path):
    program = write_synthetic_program(tmp_path / "prog", 100, 100)
    run_streamed(program, tmp_path / "run")
    with pytest.raises(InputError, match="streamed run"):
        verify_run(tmp_path / "run")
