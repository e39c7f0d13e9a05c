"""The credit ledger's tables in the record store.

The statements live with each store (:mod:`forestcarbon.inputs.store_gpkg` for SQLite,
:mod:`forestcarbon.inputs.store_postgres_side` for PostgreSQL), behind the store session's
``ledger_entries``, ``ledger_balances`` and ``append_ledger``; values are only ever parameters.
This module names the tables and their columns for the ledger's logic.

Tables
------
``credit_entries`` (append-only: triggers refuse UPDATE and DELETE; a new row must continue the
hash chain)
    One row per movement of one vintage (methodology and period): ``entry`` (number), ``change``
    (the command that wrote it; an undo reverses a whole change), ``time`` (UTC clock), ``date``
    (the day it happened), ``action`` (``issue`` | ``sell`` | ``retire`` | ``stickers`` |
    ``undo``), ``holder`` (whose credits move: ``city`` or a buyer), ``buyer`` (the receiving
    buyer of a sale), ``methodology``, ``period``, ``tonnes`` [t-CO2, whole], ``price_yen`` [JPY],
    ``purpose`` (無効化の用途), ``reference`` (registry or certification reference), ``run`` and
    ``run_sha256`` (the run folder an issue was checked against and the sha256 of its
    ``provenance.json``), ``retirement`` (the retirement entry stickers stand on), ``per_tonne``
    (stickers per tonne), ``serial_first``, ``serial_last`` (sticker serials, inclusive),
    ``undoes`` (the entry an undo entry reverses), ``source`` (command or file), ``prev_hash``
    and ``hash`` (sha256 chain, :func:`forestcarbon.officer.ledger_state.entry_hash`).
``credit_balances``
    The balances the writes keep, per ``holder``, ``methodology`` and ``period``: ``held_t`` and
    ``retired_t`` [t-CO2], ``stickers`` (count). ``forestcarbon verify`` recomputes them from the
    entries.
"""

from __future__ import annotations

from forestcarbon.inputs.stores import (
    BALANCE_COLUMNS,
    BALANCES_TABLE,
    ENTRIES_TABLE,
    ENTRY_COLUMNS,
)

__all__ = ["BALANCES_TABLE", "BALANCE_COLUMNS", "ENTRIES_TABLE", "ENTRY_COLUMNS"]
