"""Run folders published as one atomic set, sealed by a completion record.

A run is written whole into a staging folder beside the output folder; the completion record
(``run_complete.json``: every output file and its sha256) is written last, and the staging folder
then becomes the output folder in one step:

* no output folder yet: one ``rename`` of the staging folder;
* an older run (or an empty folder) there, with ``--overwrite``: the two folders are exchanged
  atomically (Linux ``renameat2(RENAME_EXCHANGE)``), then the old run is deleted. Where the
  exchange is not available the old run is first renamed aside (``.NAME.old-*``) and the new one
  renamed in; an interruption between the two renames is undone by the next run or reader.

A reader (``verify``) refuses a folder without its completion record. Leftover staging folders
of interrupted runs are removed by the next run into the same place. Nothing here follows a
symbolic link or deletes a folder that is not a run folder this module wrote.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pyogrio

from forestcarbon.core.exceptions import OutputError
from forestcarbon.core.files import COMPLETION_FILE, Writer, file_sha256, json_bytes, write_file

COMPLETION_FORMAT = "forestcarbon run folder 1"

KILL_AFTER_STEP_ENV = "FORESTCARBON_TEST_KILL_AFTER_STEP"
"""Tests only: kill the process (SIGKILL) after this publishing step (1: staging complete,
2: first rename, 3: second rename or old run deleted, ...)."""

NO_EXCHANGE_ENV = "FORESTCARBON_TEST_NO_RENAME_EXCHANGE"
"""Tests only: publish with two renames as on systems without an atomic exchange."""

_RENAME_EXCHANGE = 2


class _Steps:
    def __init__(self):
        self.n = 0
        text = os.environ.get(KILL_AFTER_STEP_ENV, "")
        self.kill_at = int(text) if text.isdigit() else 0

    def done(self) -> None:
        self.n += 1
        if self.n == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


def _staging_prefix(out: Path, pid: int | None = None) -> str:
    return f".{out.name}.staging-" + (f"{pid}-" if pid is not None else "")


def _old_prefix(out: Path, pid: int | None = None) -> str:
    return f".{out.name}.old-" + (f"{pid}-" if pid is not None else "")


def _abandoned(path: Path, prefix: str) -> bool:
    """A staging or set-aside folder whose writing process is gone (never a running one's)."""
    pid_text = path.name[len(prefix) :].split("-", 1)[0]
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def read_completion(run_dir: Path) -> dict | None:
    """The completion record of ``run_dir`` (file name -> sha256), or None when it has none."""
    path = Path(run_dir) / COMPLETION_FILE
    if path.is_symlink() or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or record.get("format") != COMPLETION_FORMAT:
        return None
    files = record.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        return None
    return files


def _legacy_run(folder: Path) -> bool:
    """A run folder written before completion records: every file in it is ``provenance.json``,
    an output it lists, or a map (so replacing it deletes nothing of the user's)."""
    try:
        prov = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
        listed = set(prov["outputs_sha256"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        return False
    for name in files_in(folder):
        path = folder / name
        if path.is_symlink() or not (
            name in listed
            or name in ("provenance.json", "fo001_stands.gpkg")
            or (name.startswith("maps/") and name.endswith(".html"))
        ):
            return False
    return True


def require_complete(run_dir: str | Path) -> dict:
    """The completion record of a run folder; an incomplete or foreign folder is an error."""
    run_dir = Path(run_dir)
    recover(run_dir)
    if run_dir.is_symlink():
        raise OutputError(f"{run_dir} is a symbolic link; give the run folder itself")
    if not run_dir.is_dir():
        raise OutputError(f"{run_dir}: not found or not a folder")
    files = read_completion(run_dir)
    if files is None:
        raise OutputError(
            f"{run_dir} is not a complete run folder (no valid {COMPLETION_FILE}): the run was "
            "interrupted or the folder was not written by forestcarbon run; run it again"
        )
    return files


def files_in(folder: Path) -> list[str]:
    """Relative names (with /) of every file under ``folder`` (links are listed, not followed)."""
    names = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        names += [(rel / f).as_posix() for f in files]
        names += [(rel / d).as_posix() for d in dirs if (Path(root) / d).is_symlink()]
    return sorted(names)


def recover(out: Path) -> None:
    """Undo an interrupted publish (an old run renamed aside and nothing in its place) and
    remove leftover staging and old-run folders of ``out``."""
    parent = out.parent
    if not parent.is_dir():
        return
    old, staging = _old_prefix(out), _staging_prefix(out)
    olds = sorted(p for p in parent.glob(old + "*") if _ours(p) and _abandoned(p, old))
    if olds and not out.exists() and not out.is_symlink():
        os.rename(olds[-1], out)
        olds = olds[:-1]
    stale = [p for p in parent.glob(staging + "*") if p.is_dir() and _abandoned(p, staging)]
    for p in [*olds, *stale]:
        if not p.is_symlink() and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def _ours(path: Path) -> bool:
    """A folder this module set aside: a complete run, or the empty folder a run replaced."""
    if not path.is_dir() or path.is_symlink():
        return False
    return read_completion(path) is not None or not any(path.iterdir())


def check_run_target(
    out_dir: str | Path, *, overwrite: bool, inputs: Iterable[str | Path] = ()
) -> Path:
    """Refuse an output folder a run must not replace; called before anything is computed.

    Refused: a symbolic link; a file; a folder holding any of ``inputs`` (or inside which an
    input lies); a folder with content that is not a complete run folder; an existing run
    folder without ``overwrite``.
    """
    out = Path(out_dir)
    if out.is_symlink():
        raise OutputError(f"{out} is a symbolic link; outputs are never written through links")
    resolved = out.resolve()
    for path in inputs:
        p = Path(path).resolve()
        if p == resolved or resolved in p.parents:
            raise OutputError(
                f"{out} holds an input of the program ({path}); choose an output folder "
                "that holds no input"
            )
    recover(out)
    if not out.exists():
        return out
    if not out.is_dir():
        raise OutputError(f"{out} exists and is not a folder")
    if not any(out.iterdir()):
        return out
    if read_completion(out) is None and not _legacy_run(out):
        raise OutputError(
            f"{out} is not empty and is not a run folder written by forestcarbon (no "
            f"{COMPLETION_FILE}); choose a new or empty output folder"
        )
    if not overwrite:
        raise OutputError(f"{out} already holds a run; use --overwrite to replace it")
    return out


def read_kind(run_dir: Path) -> str:
    """The command that wrote a complete run folder (``run``, ``fo001``, ``energy``)."""
    try:
        record = json.loads((Path(run_dir) / COMPLETION_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "unknown"
    kind = record.get("kind") if isinstance(record, dict) else None
    return kind if isinstance(kind, str) else "unknown"


def _write_all(staging: Path, outputs: dict[str, bytes | Writer], kind: str) -> dict[str, str]:
    for name, content in outputs.items():
        if name == COMPLETION_FILE or Path(name).is_absolute() or ".." in Path(name).parts:
            raise OutputError(f"invalid output name {name!r}")
        write_file(staging / name, content)
    hashes = {name: file_sha256(staging / name) for name in files_in(staging)}
    record = {"format": COMPLETION_FORMAT, "kind": kind, "files": hashes}
    tmp = staging / (COMPLETION_FILE + ".tmp")
    tmp.write_bytes(json_bytes(record))
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, staging / COMPLETION_FILE)
    return hashes


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    if os.environ.get(NO_EXCHANGE_ENV) or not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def scratch_folder(out_dir: str | Path) -> Path:
    """A new working folder beside ``out_dir`` for files made before :func:`publish_run` moves
    them in (a streamed run's parts). Named like a staging folder, so :func:`recover` (run by the
    next run into ``out_dir``) removes it once the process that made it is gone (killed mid-run)."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=_staging_prefix(out, os.getpid()), dir=out.parent))


def publish_run(
    out_dir: str | Path,
    outputs: dict[str, bytes | Writer],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path] = (),
    kind: str = "run",
) -> list[Path]:
    """Write a run folder as one atomic set sealed by its completion record.

    Parameters
    ----------
    outputs : dict
        Relative file name -> bytes, or a function that writes the file at the given path.
    inputs : paths
        The program's input files: an output folder holding one is refused.

    Returns the paths of the published files. On any error nothing changes at ``out_dir``.
    """
    out = check_run_target(out_dir, overwrite=overwrite, inputs=inputs)
    steps = _Steps()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(out, os.getpid()), dir=out.parent))
    except OSError as e:
        raise OutputError(f"cannot create the output folder {out}: {e.strerror or e}") from None
    try:
        try:
            hashes = _write_all(staging, outputs, kind)
        except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as e:
            raise OutputError(f"cannot write the outputs in {out.parent}: {e}") from None
        steps.done()
        if not out.exists():
            os.rename(staging, out)
            steps.done()
        elif _exchange(staging, out):
            steps.done()
            shutil.rmtree(staging)  # now the old run (or the empty folder)
            steps.done()
        else:
            old = Path(tempfile.mkdtemp(prefix=_old_prefix(out, os.getpid()), dir=out.parent))
            old.rmdir()
            os.rename(out, old)
            steps.done()
            os.rename(staging, out)
            steps.done()
            shutil.rmtree(old)
            steps.done()
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return [out / name for name in sorted(hashes)]


def verify_completion(run_dir: Path, files: dict[str, str]) -> list[str]:
    """Differences between a run folder and its completion record: missing, extra, modified."""
    present = set(files_in(run_dir)) - {COMPLETION_FILE}
    out = [f"{n}: missing (listed in {COMPLETION_FILE})" for n in sorted(set(files) - present)]
    out += [f"{n}: extra file, not written by the run" for n in sorted(present - set(files))]
    for name in sorted(present & set(files)):
        path = run_dir / name
        if path.is_symlink():
            out.append(f"{name}: replaced by a symbolic link")
        elif file_sha256(path) != files[name]:
            out.append(f"{name}: modified after the run (sha256 differs from {COMPLETION_FILE})")
    return out
