"""The sample's credit ledger: buyers and the city's records of its credits (SYNTHETIC).

In the spirit of Tsuyama's program, made up: the city certifies part of the sample's credits;
sells them to a shinkin bank, a food company, a hotel, a builder and a printer; the bank retires
5 t for printing 50,000 passbooks (通帳5万冊の印刷製本時の電力) and puts 50,000 certification
stickers (認証シール, 10,000 per tonne) on them; the food company offsets products made from local
ingredients and stickers them; the city retires some for its own offices. Every name is marked
(架空, fictitious) and every record's 参照 says SYNTHETIC.

Files (written by :func:`write_credit_sample`, read by ``forestcarbon credits import``):

``buyers.csv``
    名称, 種別, 住所, 経度, 緯度, 公開 (the ``[credits] buyers`` table).
``credits.csv``
    日付, 区分, 購入者, 数量, 金額, 用途, 方法論, 期間, 参照: the records in date order, to import
    with ``forestcarbon credits import PROGRAM credits.csv --run RUN_DIR``. The tonnes issued
    (FO-001 3,000 t of FY2022 and 2,500 t of FY2023, EN-R-002 200 t of FY2023) stay below the
    sample's credits (4,533, 4,391 and 345 t), as a city certifies in tranches.

Revenue (資金循環), by the city's fiscal year: FY2023 70 t for 740,000 yen (50 t at 10,000 and
20 t at 12,000 yen/t); FY2024 160 t for 1,640,000 yen (30 t at 11,000, 100 t at 10,000, 10 t at
11,000 and 20 t at 10,000 yen/t).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

P22 = "2022-04-01/2023-03-31"
P23 = "2023-04-01/2024-03-31"
BANK = "つやま信金 (架空)"
FOOD = "美作フーズ (架空)"
HOTEL = "津山観光ホテル (架空)"
BUILDER = "作州建設 (架空)"
PRINTER = "鶴山印刷 (架空)"
HOUSEHOLD = "山田 太郎 (架空)"

BUYERS = (
    ("名称", "種別", "住所", "経度", "緯度", "公開"),
    (BANK, "事業者", "津山市山下 (架空)", "134.00210", "35.06540", "はい"),
    (FOOD, "事業者", "津山市小原 (架空)", "134.03120", "35.07680", "はい"),
    (HOTEL, "事業者", "津山市大手町 (架空)", "134.00650", "35.06180", "はい"),
    (BUILDER, "事業者", "津山市高野 (架空)", "134.04830", "35.08110", "いいえ"),
    (PRINTER, "事業者", "津山市二宮 (架空)", "133.98320", "35.07270", "はい"),
    (HOUSEHOLD, "個人", "津山市 (架空)", "", "", "いいえ"),
)
"""The buyers table; the builder does not wish to be shown and a household never is."""

REF = "SYNTHETIC サンプル"
RECORDS = (
    ("日付", "区分", "購入者", "数量", "金額", "用途", "方法論", "期間", "参照"),
    ("2023-10-20", "認証", "", "3000", "", "", "FO-001", P22, f"{REF} JCR-S-0001"),
    ("2023-12-01", "売却", BANK, "50", "500000", "", "", "", REF),
    ("2024-01-15", "無効化", BANK, "5", "", "通帳5万冊の印刷製本時の電力", "", "", REF),
    ("2024-01-16", "シール", BANK, "50000", "", "", "", "", REF),
    ("2024-02-01", "売却", FOOD, "20", "240000", "", "", "", REF),
    ("2024-03-01", "無効化", FOOD, "10", "", "地元食材を使った加工品の製造時の電力", "", "", REF),
    ("2024-03-05", "シール", FOOD, "20000", "", "", "", "", REF),
    ("2024-06-01", "売却", HOTEL, "30", "330000", "", "", "", REF),
    ("2024-07-01", "無効化", HOTEL, "30", "", "客室の冷暖房の電力 (2023年度)", "", "", REF),
    ("2024-10-18", "認証", "", "2500", "", "", "FO-001", P23, f"{REF} JCR-S-0002"),
    ("2024-10-18", "認証", "", "200", "", "", "EN-R-002", P23, f"{REF} JCR-S-0003"),
    ("2024-11-01", "売却", BUILDER, "100", "1000000", "", "", "", REF),
    ("2024-11-15", "売却", PRINTER, "10", "110000", "", "EN-R-002", P23, REF),
    ("2024-12-01", "無効化", PRINTER, "10", "", "市の広報誌の印刷の電力", "", "", REF),
    ("2025-01-10", "無効化", "", "20", "", "市庁舎の電力 (市の事業)", "FO-001", P23, REF),
    ("2025-02-01", "売却", BANK, "20", "200000", "", "", "", REF),
)
"""The city's records (SYNTHETIC), as its credit officer would keep them in Excel."""


def _csv(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_credit_sample(out: str | Path) -> list[Path]:
    """Write ``buyers.csv`` and ``credits.csv`` (UTF-8) into the sample folder."""
    out = Path(out)
    written = []
    for name, rows in (("buyers.csv", BUYERS), ("credits.csv", RECORDS)):
        path = out / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_bytes(_csv(rows))
        tmp.replace(path)
        written.append(path)
    return written


CREDITS_README = """
## Credit ledger (SYNTHETIC)

`buyers.csv` and `credits.csv` are a made-up credit ledger in the spirit of Tsuyama's program
(every name is marked 架空, every record's 参照 says SYNTHETIC). Load it into the record store
(`records.gpkg`, created) after a run, then report:

    forestcarbon run data/tsuyama-sample --out runs/sample
    forestcarbon credits import data/tsuyama-sample data/tsuyama-sample/credits.csv \\
        --run runs/sample
    forestcarbon credits balance data/tsuyama-sample
    forestcarbon credits report data/tsuyama-sample

It certifies FO-001 3,000 t (FY2022) and 2,500 t (FY2023) and EN-R-002 200 t (FY2023); sells
to a bank, a food company, a hotel, a builder (not public) and a printer; the bank retires 5 t
for 50,000 passbooks and receives stickers 1–50,000; the food company retires 10 t and receives
stickers 50,001–70,000. Revenue: FY2023 740,000 yen for 70 t, FY2024 1,640,000 yen for 160 t.
"""
