"""``forestcarbon ops init``: start recording operations with one command.

Creates the record store (:mod:`forestcarbon.officer.store`) from the program's existing
operations file and points ``[inputs] operations`` of program.toml at it, keeping the previous
program.toml as a backup. Everything is checked before anything is written: the store is built
in a temporary file and linked into place, then program.toml is replaced atomically.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from forestcarbon.core.config import CONFIG_FILE, InputSettings, load_settings
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.inputs.readers import TABLE_SUFFIXES, locate_input
from forestcarbon.inputs.records import is_store
from forestcarbon.inputs.treated import is_record_store_file
from forestcarbon.officer.store import ChangeResult, import_operations

DEFAULT_STORE = "records.gpkg"
"""File name of the record store ``ops init`` creates in the program folder."""


@dataclass(frozen=True)
class InitResult:
    """What ``ops init`` did: the store, the records imported from which file, the backup."""

    store: Path
    source: Path
    change: ChangeResult
    config: Path
    backup: Path

    def __str__(self) -> str:
        return (
            f"{self.store}: created with {self.change.n_added} record(s) from {self.source.name}"
            f"\n{self.config}: [inputs] operations = {self.store.name!r} (previous text kept in "
            f"{self.backup.name}); record changes with forestcarbon ops add / import / undo"
        )


_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
_OPERATIONS = re.compile(r"^(\s*operations\s*=\s*)(\"[^\"]*\"|'[^']*')(.*)$")


def with_store_setting(text: str, store: str) -> str:
    """program.toml text with ``[inputs] operations = "STORE"``, everything else kept as written
    (comments, order): the key's line replaced, or added under ``[inputs]``, or ``[inputs]``
    appended."""
    lines = text.splitlines(keepends=True)
    section = None
    inputs_at = None
    for i, line in enumerate(lines):
        m = _SECTION.match(line.rstrip("\r\n"))
        if m:
            section = m.group(1)
            if section == "inputs":
                inputs_at = i
            continue
        if section == "inputs":
            k = _OPERATIONS.match(line.rstrip("\r\n"))
            if k:
                end = line[len(line.rstrip("\r\n")) :]
                lines[i] = f'{k.group(1)}"{store}"{k.group(3)}{end}'
                return "".join(lines)
    if inputs_at is not None:
        lines.insert(inputs_at + 1, f'operations = "{store}"\n')
        return "".join(lines)
    sep = "" if not text or text.endswith("\n") else "\n"
    return f'{text}{sep}\n[inputs]\noperations = "{store}"\n'


def _backup_path(config: Path) -> Path:
    """program.toml.bak, or .bak2, .bak3, ... when taken: a backup is never overwritten."""
    candidate = config.with_name(config.name + ".bak")
    n = 2
    while candidate.exists():
        candidate = config.with_name(f"{config.name}.bak{n}")
        n += 1
    return candidate


def init_store(
    program_dir: str | Path,
    *,
    store: str = DEFAULT_STORE,
    note: str = "",
    now: Callable[[], dt.datetime] | None = None,
) -> InitResult:
    """Create the record store from the operations file (CSV/XLSX, or a GeoPackage layer
    ``operations`` whose treated-area polygons are kept) and make program.toml use it.

    Parameters
    ----------
    store : str
        File name of the store in the program folder (a ``.gpkg``).

    Raises
    ------
    InputError
        The program already uses a store, the store file exists, the operations file is
        missing, or its records have problems (all listed; nothing is written).
    """
    program_dir = Path(program_dir)
    config = program_dir / CONFIG_FILE
    settings = load_settings(program_dir)
    current = settings.inputs.operations
    if not is_store(store):
        raise InputError(Problem(store, "", "", "the record store must be a .gpkg file"))
    # a GeoPackage layer of operations (not a store): the store is created from it
    layer = program_dir / current if current and is_store(current) else None
    is_layer = layer is not None and layer.is_file() and not is_record_store_file(layer)
    if current and is_store(current) and not is_layer:
        raise InputError(
            Problem(
                str(config),
                "",
                "[inputs] operations",
                f"the program already records operations in {current!r}; use forestcarbon ops "
                "add / import / undo",
            )
        )
    path = program_dir / store
    if path.exists():
        raise InputError(
            Problem(str(path), "", "", "already exists; remove it or name another with --store")
        )
    source = locate_input(
        program_dir,
        current or InputSettings.operations,
        InputSettings.operations,
        (*TABLE_SUFFIXES, ".gpkg"),
        "operations",
    )
    if source.suffix.lower() == ".gpkg" and source.is_file() and is_record_store_file(source):
        raise InputError(
            Problem(
                str(source),
                "",
                "[inputs] operations",
                "is a record store already: name it in program.toml "
                f'(operations = "{source.name}") and use forestcarbon ops add / import / undo',
            )
        )
    if not source.is_file():
        raise InputError(
            Problem(str(source), "", "", "operations file not found: nothing to create the store")
        )
    text = config.read_text(encoding="utf-8")
    new_text = with_store_setting(text, store)
    try:
        edited = tomllib.loads(new_text).get("inputs", {}).get("operations")
    except tomllib.TOMLDecodeError:
        edited = None
    if edited != store:  # e.g. a dotted key inputs.operations = ... the edit cannot see
        raise InputError(
            Problem(
                str(config),
                "",
                "[inputs] operations",
                f'cannot be changed automatically; set operations = "{store}" under [inputs] '
                f"by hand, then run forestcarbon ops import {program_dir} {source}",
            )
        )
    with_store = dataclasses.replace(
        settings, inputs=dataclasses.replace(settings.inputs, operations=store)
    )
    change = import_operations(
        program_dir,
        source,
        note=note or f"ops init: {source.name}",
        now=now,
        settings=with_store,
    )
    backup = _backup_path(config)
    backup.write_bytes(config.read_bytes())
    tmp = config.with_name(config.name + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.replace(tmp, config)
    return InitResult(path, source, change, config, backup)
