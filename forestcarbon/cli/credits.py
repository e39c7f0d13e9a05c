"""Parser of the credit officer's command: ``forestcarbon credits issue | sell | retire | stickers
| balance | history | undo | import | report``.

The work is in :mod:`forestcarbon.officer.ledger`; :mod:`forestcarbon.cli.credits_commands`
calls it.
"""

from __future__ import annotations

from pathlib import Path

from forestcarbon.cli.options import program_arg

ACTIONS = ("issue", "sell", "retire", "stickers", "balance", "history", "undo", "import", "report")


def _vintage(p) -> None:
    p.add_argument("--methodology", default="", help="e.g. FO-001 (default: first in, first out)")
    p.add_argument(
        "--period", default="", help="monitoring period, e.g. 2023-04-01/2024-03-31 (default: FIFO)"
    )


def add_parsers(sub) -> None:
    """Add the ``credits`` command to the main parser's subparsers."""
    credits = sub.add_parser(
        "credits",
        help="the credit ledger (クレジット台帳): certified credits issued to the city, sales "
        "(移転), retirements (無効化) and certification stickers (認証シール)",
        description="Keep the credit ledger in the program's record store. Every change is "
        "checked (nothing sold or retired beyond what is held, no stickers beyond retired "
        "tonnes, dates in order, whole tonnes), written in one transaction and chained by "
        "sha256; undo adds reversing entries.",
    )
    actions = credits.add_subparsers(dest="credits_command", required=True, metavar="ACTION")

    p = actions.add_parser("issue", help="credits certified by J-Credit enter the city's holding")
    program_arg(p)
    p.add_argument("--methodology", required=True, help="FO-001, EN-R-002 or EN-S-004")
    p.add_argument("--period", required=True, help="monitoring period, e.g. 2023-04-01/2024-03-31")
    p.add_argument("--tonnes", required=True, help="certified credits [t-CO2, whole]")
    p.add_argument("--certified", required=True, help="date of certification, e.g. 2024-10-15")
    p.add_argument(
        "--run",
        required=True,
        type=Path,
        help="run folder whose program_summary.csv has these credits (its hash is kept)",
    )
    p.add_argument("--reference", default="", help="registry or certification reference")

    p = actions.add_parser("sell", help="a sale (移転) to a buyer of the buyers table")
    program_arg(p)
    p.add_argument("--buyer", required=True, help="buyer's name as in the buyers table")
    p.add_argument("--tonnes", required=True, help="tonnes sold [t-CO2, whole]")
    p.add_argument("--price-yen", required=True, help="price of the whole sale [JPY]")
    p.add_argument("--date", required=True, help="date of the transfer")
    p.add_argument("--holder", default="city", help="seller (default: city)")
    p.add_argument("--reference", default="", help="contract or registry reference")
    _vintage(p)

    p = actions.add_parser("retire", help="a retirement (無効化) for an offset, with its purpose")
    program_arg(p)
    p.add_argument("--holder", default="city", help="who retires (a buyer, or city)")
    p.add_argument("--tonnes", required=True, help="tonnes retired [t-CO2, whole]")
    p.add_argument("--purpose", required=True, help='用途, e.g. "通帳5万冊の印刷製本時の電力"')
    p.add_argument("--date", required=True, help="date of the retirement")
    p.add_argument("--reference", default="", help="registry reference of the retirement")
    _vintage(p)

    p = actions.add_parser(
        "stickers", help="certification stickers (serial ranges) against retired tonnes"
    )
    program_arg(p)
    p.add_argument("--holder", required=True, help="whose retired tonnes the stickers stand on")
    p.add_argument("--count", required=True, help="number of stickers")
    p.add_argument(
        "--per-tonne",
        default=None,
        help="stickers per tonne (default [credits] stickers_per_tonne)",
    )
    p.add_argument("--date", required=True, help="date the stickers are issued")
    p.add_argument(
        "--retirement", type=int, default=None, help="retirement entry (default: oldest first)"
    )

    p = actions.add_parser("balance", help="tonnes held and retired per holder and vintage")
    program_arg(p)

    p = actions.add_parser("history", help="every entry, and the chain and balances checked")
    program_arg(p)

    p = actions.add_parser("undo", help="reverse the latest change not yet undone")
    program_arg(p)
    p.add_argument("-m", "--message", default="", help="why (kept with the reversing entries)")

    p = actions.add_parser(
        "import",
        help="the city's existing records: CSV/XLSX with 日付, 区分, 購入者, 数量, 金額, 用途 "
        "(optional 方法論, 期間, 参照, 販売者); all rows or none",
    )
    program_arg(p)
    p.add_argument("file", metavar="FILE", type=Path, help="records (CSV or XLSX)")
    p.add_argument("--run", type=Path, default=None, help="run folder for 認証 (issue) rows")

    p = actions.add_parser(
        "report",
        help="credit_ledger.xlsx: holdings by methodology and vintage, transfers, retirements, "
        "stickers, revenue by fiscal year",
    )
    program_arg(p)
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default: PROGRAM_DIR/credits)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing report")
