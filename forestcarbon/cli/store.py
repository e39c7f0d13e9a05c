"""Parser of ``forestcarbon store``: the record store itself (copying it between a GeoPackage and
PostgreSQL/PostGIS; the grants of an officer's database role).

The work is in :mod:`forestcarbon.officer.migrate` and
:mod:`forestcarbon.inputs.store_postgres`; :mod:`forestcarbon.cli.commands` calls them.
"""

from __future__ import annotations

from forestcarbon.cli.options import program_arg


def add_parsers(sub) -> None:
    """Add the ``store`` command to the main parser's subparsers."""
    p = sub.add_parser(
        "store",
        help="the record store: copy it between a GeoPackage and PostgreSQL/PostGIS; grants",
        description="The record store is the GeoPackage named by [inputs] operations, or the "
        "PostgreSQL/PostGIS schema of [store] url (several officers, one register).",
    )
    actions = p.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    m = actions.add_parser(
        "migrate",
        help="copy the program's store (stands, operations, history) into a new store and check "
        "the copy row for row",
    )
    program_arg(m)
    m.add_argument(
        "--to",
        required=True,
        metavar="TARGET",
        help="postgresql://user@host/database (password from PGPASSWORD or ~/.pgpass), or a "
        ".gpkg file (in the program folder when relative)",
    )
    m.add_argument(
        "--schema",
        default="",
        help="PostgreSQL schema of the copy (default: [store] schema, or fc_ + folder name)",
    )
    a = actions.add_parser(
        "adopt",
        help="copy the reviews and credit ledger a GeoPackage holds (written before [store] url "
        "was set) into the program's PostgreSQL store and check the copy row for row",
    )
    program_arg(a)
    a.add_argument("file", help="the GeoPackage in the program folder, e.g. records.gpkg")
    g = actions.add_parser(
        "grants",
        help="print the SQL an administrator runs to give an officer's role the least "
        "privileges forestcarbon needs",
    )
    program_arg(g)
    g.add_argument("--role", required=True, help="database role (user) of the officer")
