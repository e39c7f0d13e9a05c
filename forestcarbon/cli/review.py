"""Parser of ``forestcarbon review``: an officer's decision on a stand held by canopy evidence."""

from __future__ import annotations

from forestcarbon.cli.options import program_arg


def add_parsers(sub) -> None:
    """Add the ``review`` command to the main parser's subparsers."""
    p = sub.add_parser(
        "review",
        help="record an officer's review of a stand held by canopy evidence "
        "(canopy_below_expected): standing releases its credits",
        description="Append a review to the program's reviews (the record store, else "
        "reviews.gpkg); reviews are never changed, a later one supersedes. A felled stand "
        "needs its final harvest recorded with ops add (主伐) before its credits count.",
    )
    program_arg(p)
    p.add_argument("--stand", required=True, help="stand id, e.g. 12-3-1 (林班-小班-枝番)")
    p.add_argument("--decision", required=True, help="standing (立木あり) or felled (伐採済み)")
    p.add_argument("--note", required=True, help="what was seen, by whom, when (確認内容)")
