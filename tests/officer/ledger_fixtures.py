"""A tiny program folder for the credit ledger: settings, a buyers table and a run folder whose
credits are written by hand (the ledger checks issues against them)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

P22 = "2022-04-01/2023-03-31"
P23 = "2023-04-01/2024-03-31"

TOML = """[program]
name = "ledger test"

[[periods]]
start = 2022-04-01
end = 2023-03-31

[[periods]]
start = 2023-04-01
end = 2024-03-31
"""

BUYERS = """名称,種別,住所,経度,緯度,公開
つやま信金,事業者,津山市山下1,134.0035,35.0685,はい
山の幸食品,事業者,津山市小田中2,134.0120,35.0710,はい
非公開商店,事業者,津山市3,134.0200,35.0600,いいえ
山田太郎,個人,津山市4,,,いいえ
"""

SUMMARY = f"""methodology,period,total_tco2,credits_t,n_activities
FO-001,{P22},100.5,100,3
FO-001,{P23},60.9,60,3
EN-R-002,{P23},20.2,20,40
all,,181.6,180,46
"""

TODAY = dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC)


def clock():
    """A fixed clock (2025-06-01 09:00 UTC)."""
    return TODAY


def ledger_program(folder: Path, *, extra_toml: str = "") -> tuple[Path, Path]:
    """(program folder, run folder) with the credits of :data:`SUMMARY`; ``extra_toml``: lines
    added to program.toml (e.g. a PostgreSQL store)."""
    program = folder / "program"
    program.mkdir(parents=True)
    (program / "program.toml").write_text(TOML + extra_toml, encoding="utf-8")
    (program / "buyers.csv").write_text(BUYERS, encoding="utf-8")
    run = folder / "run"
    run.mkdir()
    (run / "program_summary.csv").write_text(SUMMARY, encoding="utf-8")
    provenance = {"program_dir_path": str(program.resolve())}
    (run / "provenance.json").write_text(json.dumps(provenance), encoding="utf-8")
    return program, run


BANK_ROW = "つやま信金,事業者,津山市山下1,134.0035,35.0685,はい\n"
"""The bank's row of :data:`BUYERS` (for programs built elsewhere)."""


def run_with_credits(folder: Path, program: Path) -> Path:
    """A run folder of ``program`` (beside it, in ``folder``) with the credits of
    :data:`SUMMARY`, and the buyers table of :data:`BUYERS` in the program."""
    (program / "buyers.csv").write_text(BUYERS, encoding="utf-8")
    run = folder / f"run-{program.name}"
    run.mkdir()
    (run / "program_summary.csv").write_text(SUMMARY, encoding="utf-8")
    provenance = {"program_dir_path": str(program.resolve())}
    (run / "provenance.json").write_text(json.dumps(provenance), encoding="utf-8")
    return run
