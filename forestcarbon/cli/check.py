"""``forestcarbon validate``: what the command does once its arguments are parsed.

A module of its own, imported by :func:`forestcarbon.cli.main.main` instead of
:mod:`forestcarbon.cli.commands` for ``validate``: the commands module also imports what the other
commands need (the record store, plans, notebooks, verify, the sample generator, Dask's scale
commands), about 0.07 s of a first ``validate``'s 1.5 s (measured: 11 fresh imports each, quiet
machine), none of it used to check a program.
"""

from __future__ import annotations

from forestcarbon import run


def cmd_validate(args) -> int:
    print(run.validate_program(args.program_dir))
    return 0


COMMANDS = {"validate": cmd_validate}
