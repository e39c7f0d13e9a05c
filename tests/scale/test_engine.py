"""A run on a Dask LocalCluster (2 worker processes) gives the one-process outputs byte for byte."""

from __future__ import annotations

import json

import pytest

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.cli.main import main
from forestcarbon.run import run_program
from forestcarbon.scale.engine import DaskEngine
from forestcarbon.scale.streamrun import run_streamed
from forestcarbon.scale.synthetic import write_synthetic_program
from forestcarbon.verify import verify_run

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    """One LocalCluster for the module: 2 worker processes of 1 thread."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def same_files(a, b, names):
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_sample_on_two_workers_is_byte_identical(client, sample_run, tmp_path):
    single, result = sample_run
    out = tmp_path / "dist"
    dist = run_program(SAMPLE_PROGRAM, out, engine=DaskEngine(client, "local:2"))
    csvs = sorted(p.name for p in single.glob("*.csv"))
    assert "fo001_stands.csv" in csvs and "canopy_stands.csv" in csvs and "solar_sites.csv" in csvs
    same_files(single, out, [*csvs, "monitoring_report.xlsx", "summary.md"])
    assert dist.summary["credits_t"].tolist() == result.summary["credits_t"].tolist()
    record = json.loads((out / "provenance.json").read_text(encoding="utf-8"))["compute"]
    assert record["scheduler"] == "local:2"
    assert record["workers"] == 2
    assert record["partitions"] == 8  # 4 per worker
    assert sum(record["stands_per_partition"]) == result.inputs.stands.shape[0]
    parts = sorted((out / "fo001_stands.parquet").glob("part-*.parquet"))
    assert len(parts) == 8
    # verify re-runs it in one process: every output (the GeoParquet parts too) reproduced
    v = verify_run(out)
    assert v.ok, v.text()


def test_synthetic_program_in_many_partitions_is_identical(client, tmp_path):
    program = write_synthetic_program(tmp_path / "syn", 3_000, per_partition=700)
    single = tmp_path / "single"
    run_program(program, single, fo001_only=True)
    for partitions in (1, 7):
        out = tmp_path / f"dist{partitions}"
        run_program(program, out, fo001_only=True, engine=DaskEngine(client, "local:2", partitions))
        same_files(single, out, ["fo001_stands.csv", "program_summary.csv"])
    # part by part on the workers, each reading its own GeoParquet parts: the same summary
    streamed = run_streamed(program, tmp_path / "stream", client, scheduler="local:2")
    assert streamed.stands == 3_000
    assert [p.stands for p in streamed.parts] == [700, 700, 700, 700, 200]
    same_files(single, tmp_path / "stream", ["program_summary.csv"])


def test_cli_scheduler_setting_and_bad_scheduler(tmp_path, capsys):
    code = main(
        ["run", str(SAMPLE_PROGRAM), "--out", str(tmp_path / "o"), "--scheduler", "lokal:2"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "--scheduler" in err and "'lokal:2'" in err and "local:N" in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_compute_setting_runs_the_cli_on_its_own_cluster(tmp_path, capsys):
    program = write_synthetic_program(tmp_path / "syn", 1_000, per_partition=1_000)
    assert main(["fo001", str(program), "--out", str(tmp_path / "single")]) == 0
    with (program / "program.toml").open("a", encoding="utf-8") as f:
        f.write('\n[compute]\nscheduler = "local:1"\npartitions = 3\n')
    assert main(["fo001", str(program), "--out", str(tmp_path / "dist")]) == 0
    capsys.readouterr()
    same_files(tmp_path / "single", tmp_path / "dist", ["fo001_stands.csv", "program_summary.csv"])
    record = json.loads((tmp_path / "dist" / "provenance.json").read_text(encoding="utf-8"))
    assert record["compute"]["scheduler"] == "local:1"
    assert record["compute"]["stands_per_partition"] == [334, 333, 333]  # i * 3 // 1000
    assert record["settings"]["compute"] == {
        "scheduler": "local:1",
        "partitions": 3,
        "stream": False,
    }
