"""Screenshots of the sample's public map for the README, taken offline (docs/map_public*.png).

Runs the bundled sample program into a temporary folder, opens its public map (self-contained, the
default) in Debian's headless Chromium with the network cut off, so no library is served and every
basemap tile fails (the page shows its "basemap unavailable" note), and saves the page at desktop
(1200 x 800) and phone (390 x 844) size. Needs chromium and playwright (the test extra).

    python benchmarks/map_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forestcarbon import SAMPLE_PROGRAM  # noqa: E402
from forestcarbon.run import run_program  # noqa: E402
from tests.outputs.map_browser import launch, open_page  # noqa: E402

SIZES = {"map_public.png": (1200, 800), "map_public_phone.png": (390, 844)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder of the PNGs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_program(SAMPLE_PROGRAM, Path(tmp) / "run")
        page_file = Path(tmp) / "run" / "maps" / "tsuyama-sample.html"
        with launch() as browser:
            for name, (width, height) in SIZES.items():
                page, log = open_page(
                    browser, page_file, width=width, height=height, serve=False, tiles=False
                )
                try:
                    page.locator(".fc-basemap-note").wait_for(state="visible", timeout=10_000)
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(args.out / name))
                    assert log.served == [] and log.page_errors == [], (log.served, log.page_errors)
                finally:
                    page.close()
                print(f"wrote {args.out / name} ({width} x {height}, offline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
