"""stderr of a command: progress with a percentage and a heartbeat, one summary of warnings, and
nothing but errors with -q."""

from __future__ import annotations

import re
import shutil
import time
import warnings

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.cli.main import main
from forestcarbon.cli.progress import Reporter, log
from tests.conftest import ops_for, stand, write_program


def test_warnings_are_collected_and_shown_once_at_the_end(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # pytest makes warnings errors; let these through
        with Reporter(every=60):
            log.info("step one", extra={"progress": 0.25})
            log.warning("volume model: 3 usable plot(s) in 2 stand(s)")
            warnings.warn("Glyph 12354 missing from font(s) DejaVu Sans.", UserWarning, 1)
            log.warning("volume model: 3 usable plot(s) in 2 stand(s)")
            warnings.warn("Glyph 12354 missing from font(s) DejaVu Sans.", UserWarning, 1)
            log.info("step two")
            assert capsys.readouterr().err == (
                "forestcarbon: [ 25%] step one\nforestcarbon: [ 25%] step two\n"
            )  # no warning printed while the command works
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "forestcarbon: 4 warning(s) 警告 (2 different):",
        "  - volume model: 3 usable plot(s) in 2 stand(s) (x2)",
        "  - UserWarning: Glyph 12354 missing from font(s) DejaVu Sans. (x2)",
    ]


def test_quiet_prints_only_errors(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with Reporter(quiet=True, every=0.1):
            log.info("step", extra={"progress": 0.5})
            log.warning("a warning")
            warnings.warn("a library warning", UserWarning, 1)
            time.sleep(0.3)  # no heartbeat either
            assert capsys.readouterr().err == ""
            log.error("cannot write the report")
    assert capsys.readouterr().err == "forestcarbon: error: cannot write the report\n"


def test_a_long_step_repeats_itself_with_its_elapsed_time(capsys):
    with Reporter(every=0.2):
        log.info("slow step", extra={"progress": 0.6})
        time.sleep(1.0)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "forestcarbon: [ 60%] slow step"
    beat = re.compile(r"forestcarbon: \[ 60%\] … slow step \(\d+ s\)")
    # 1.0 s of silence, a beat every 0.2 s: about 5 (fewer on a loaded machine), nothing else
    assert len(lines) >= 3 and all(beat.fullmatch(ln) for ln in lines[1:])


def test_a_slow_start_says_what_it_is_doing_and_a_fast_one_says_nothing(capsys):
    with Reporter(every=0.2, step="run: starting"):
        time.sleep(0.5)
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(re.fullmatch(r"forestcarbon: … run: starting \(\d+ s\)", x) for x in lines)
    with Reporter(every=5, step="validate: starting"):
        pass
    assert capsys.readouterr().err == ""


def test_run_with_q_prints_nothing_and_without_it_ends_at_100_percent(tmp_path, capsys):
    folder = write_program(tmp_path / "p", [stand("1-1-1", 2.0)], ops_for("1-1-1"))
    assert main(["-q", "run", str(folder), "--out", str(tmp_path / "quiet")]) == 0
    assert capsys.readouterr() == ("", "")  # (stdout, stderr): not even the totals
    assert main(["run", str(folder), "--out", str(tmp_path / "loud")]) == 0
    captured = capsys.readouterr()
    assert "FO-001" in captured.out  # without -q, the totals
    err = captured.err.splitlines()
    assert err[0].startswith("forestcarbon: [  5%] FO-001: 1 stands")
    assert err[-1].startswith("forestcarbon: [100%] wrote ")


def test_every_command_with_q_prints_nothing_when_it_succeeds(tmp_path, capsys):
    """The sample program (canopy rasters, solar, air conditioning, a ledger, warnings about
    substitute emission factors): -q prints nothing, on stdout or stderr, for each command."""
    prog = tmp_path / "prog"
    shutil.copytree(SAMPLE_PROGRAM, prog)
    out = tmp_path / "out"
    commands = [
        ["validate", prog],
        ["run", prog, "--out", out / "run"],
        ["fo001", prog, "--out", out / "fo001"],
        ["energy", prog, "--out", out / "energy"],
        ["canopy", prog, "--out", out / "canopy"],
        ["map", prog, "--out", out / "map"],
        ["report", prog, "--out", out / "report"],
        ["plan", "candidates", prog, "--out", out / "plan"],
        ["plan", "forecast", prog, "--out", out / "forecast"],
        ["verify", out / "run"],
        ["credits", "balance", prog],
    ]
    for args in commands:
        assert main(["-q", *map(str, args)]) == 0, args
        assert capsys.readouterr() == ("", ""), args
    # without -q the same command prints its answer and the warnings (so the test can fail)
    assert main(["validate", str(prog)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{prog}: ok") and "warning(s)" in captured.err


def test_a_quiet_command_that_fails_prints_its_error_and_what_it_found(tmp_path, capsys):
    folder = write_program(tmp_path / "p", [stand("1-1-1", 2.0)], ops_for("1-1-1"))
    assert main(["-q", "run", str(folder), "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    summary = tmp_path / "run" / "program_summary.csv"
    summary.write_bytes(summary.read_bytes().replace(b"FO-001", b"FO-002", 1))
    assert main(["-q", "verify", str(tmp_path / "run")]) == 1
    out, err = capsys.readouterr()
    assert "program_summary.csv" in out  # the differences verify found: held back, then shown
    (folder / "program.toml").write_text("[program\n")
    assert main(["-q", "validate", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and "program.toml" in err
