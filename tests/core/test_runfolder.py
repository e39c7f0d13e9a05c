"""Run folders: published as one atomic set, sealed by run_complete.json; interrupted runs leave
the complete old run or the complete new one, never a mixture."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import OutputError
from forestcarbon.core.files import COMPLETION_FILE, file_sha256
from forestcarbon.core.runfolder import (
    KILL_AFTER_STEP_ENV,
    NO_EXCHANGE_ENV,
    files_in,
    publish_run,
    require_complete,
)
from tests.conftest import THIN, stand, write_program

ROOT = Path(__file__).resolve().parents[2]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in files_in(folder)}


def test_completion_record_lists_every_file_and_its_hash(tmp_path):
    out = tmp_path / "run"
    publish_run(
        out, {"a.csv": b"1\n", "maps/m.html": b"<p>", "g.gpkg": lambda p: p.write_bytes(b"x")}
    )
    record = json.loads((out / COMPLETION_FILE).read_text(encoding="utf-8"))
    assert record["files"] == {
        name: file_sha256(out / name) for name in ("a.csv", "g.gpkg", "maps/m.html")
    }
    assert record["kind"] == "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging left


def test_existing_run_needs_overwrite_and_foreign_folders_are_refused(tmp_path):
    out = tmp_path / "run"
    publish_run(out, {"a.csv": b"old"})
    with pytest.raises(OutputError, match="already holds a run; use --overwrite"):
        publish_run(out, {"a.csv": b"new"})
    publish_run(out, {"b.csv": b"new"}, overwrite=True)
    assert snapshot(out) == {"b.csv": b"new", COMPLETION_FILE: snapshot(out)[COMPLETION_FILE]}
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "summary.md").mkdir()  # a user's folder named like an output
    (mine / "summary.md" / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not a run folder written by forestcarbon"):
        publish_run(mine, {"summary.md": b"x"}, overwrite=True)
    assert (mine / "summary.md" / "notes.txt").read_text() == "keep me"


def test_output_folder_holding_an_input_or_a_link_is_refused(tmp_path):
    program = tmp_path / "p"
    program.mkdir()
    (program / "solar_sites.csv").write_text("site_id\n")
    with pytest.raises(OutputError, match="holds an input of the program"):
        publish_run(
            program, {"solar_sites.csv": b"x"}, overwrite=True, inputs=[program / "solar_sites.csv"]
        )
    with pytest.raises(OutputError, match="holds an input"):
        publish_run(tmp_path, {"a.csv": b"x"}, overwrite=True, inputs=[program / "solar_sites.csv"])
    (tmp_path / "link").symlink_to(program)
    with pytest.raises(OutputError, match="symbolic link"):
        publish_run(tmp_path / "link", {"a.csv": b"x"}, overwrite=True)
    assert (program / "solar_sites.csv").read_text() == "site_id\n"


def test_readers_refuse_an_incomplete_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    publish_run(out, {"provenance.json": b"{}"})
    (out / COMPLETION_FILE).unlink()  # as a run killed before its completion record
    assert main(["verify", str(out)]) == 1
    assert "not a complete run folder" in capsys.readouterr().err
    with pytest.raises(OutputError, match="not a complete run folder"):
        require_complete(out)


def test_leftover_staging_is_cleaned_by_the_next_run(tmp_path):
    out = tmp_path / "run"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    leftover = tmp_path / f".run.staging-{dead.stdout.strip()}-abc"  # its process is gone
    leftover.mkdir()
    (leftover / "fo001_stands.csv").write_text("half")
    running = tmp_path / f".run.staging-{os.getppid()}-xyz"  # a run still in progress
    running.mkdir()
    publish_run(out, {"a.csv": b"x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [running.name, "run"]


# --- killed after each step of publishing -------------------------------------------------------


def _run(program: Path, out: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "forestcarbon",
            "-q",
            "run",
            str(program),
            "--out",
            str(out),
            "--overwrite",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def old_and_new(tmp_path_factory):
    """A program, its old run folder and the snapshot of the run after an input changed."""
    base = tmp_path_factory.mktemp("interrupt")
    program = write_program(
        base / "program", [stand("A", 2.0), stand("B", 1.0)], [{"stand_id": "A", **THIN}]
    )
    old = base / "old"
    assert _run(program, old).returncode == 0
    ops = program / "operations.csv"
    ops.write_text(ops.read_text().replace("A,2015-06-01", "B,2015-06-01"))
    new = base / "new"
    assert _run(program, new).returncode == 0
    assert snapshot(old) != snapshot(new)
    return program, snapshot(old), snapshot(new)


@pytest.mark.parametrize(
    ("exchange", "step"),
    [(True, 1), (True, 2), (True, 3), (False, 1), (False, 2), (False, 3), (False, 4)],
)
def test_killed_after_each_step_leaves_the_old_or_the_new_run(
    old_and_new, tmp_path, exchange, step
):
    program, old, new = old_and_new
    out = tmp_path / "run"
    out.mkdir()
    for name, data in old.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    env = {KILL_AFTER_STEP_ENV: str(step), **({} if exchange else {NO_EXCHANGE_ENV: "1"})}
    proc = _run(program, out, env)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    if exchange:  # the folder itself is always a complete run, before any reader looks
        assert snapshot(out) in (old, new)
    require_complete(out)  # a reader (and the next run) restores a run renamed aside
    is_old = step == 1 or (not exchange and step == 2)
    assert snapshot(out) == (old if is_old else new)
    # verify reads it: the old run's recorded operations.csv no longer matches, the new one does
    assert main(["-q", "verify", str(out)]) == (1 if is_old else 0)
    assert _run(program, out).returncode == 0  # the next run cleans up and publishes
    assert snapshot(out) == new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_run_folder_of_an_earlier_version_may_be_replaced(tmp_path):
    out = tmp_path / "run"
    (out / "maps").mkdir(parents=True)
    (out / "maps" / "p.html").write_text("<p>")
    (out / "a.csv").write_text("1\n")
    (out / "provenance.json").write_text('{"outputs_sha256": {"a.csv": "x"}}')
    with pytest.raises(OutputError, match="already holds a run"):
        publish_run(out, {"b.csv": b"2\n"})
    publish_run(out, {"b.csv": b"2\n"}, overwrite=True)
    assert sorted(files_in(out)) == ["b.csv", COMPLETION_FILE]
    (out / COMPLETION_FILE).unlink()
    (out / "notes.txt").write_text("mine")  # not an output: the folder is no longer a run
    with pytest.raises(OutputError, match="not a run folder written by forestcarbon"):
        publish_run(out, {"b.csv": b"3\n"}, overwrite=True)
