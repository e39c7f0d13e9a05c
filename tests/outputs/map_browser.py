"""Headless Debian Chromium for the map tests and benchmark, with the network cut off.

The browser is Debian's ``chromium`` (installed by ``.ci/run``), driven by Playwright through
``executable_path``; no browser is ever downloaded. Every request leaves through one route: the
JavaScript/CSS files the maps link to are answered from the copies vendored in
``forestcarbon/outputs/static``, basemap tiles with a blank local PNG, and anything else is aborted
and recorded. A proxy on a closed local port catches whatever might bypass the route.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from forestcarbon.outputs.map import vendored_file

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
]
CONTENT_TYPES = {".js": "application/javascript", ".css": "text/css", ".png": "image/png"}


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def blank_tile(size: int = 256, rgb: tuple[int, int, int] = (236, 236, 230)) -> bytes:
    """A plain PNG basemap tile (made here: tiles are never fetched in tests)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = (b"\x00" + bytes(rgb) * size) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@dataclass
class PageLog:
    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)
    served: list = field(default_factory=list)
    tiles: list = field(default_factory=list)
    blocked: list = field(default_factory=list)


@contextlib.contextmanager
def launch():
    """A headless Chromium (Playwright's ``Browser``)."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise RuntimeError("chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(
    browser,
    html_file: Path,
    *,
    width: int = 1200,
    height: int = 800,
    serve: bool = True,
    tiles: bool = True,
    aliases: dict[str, Path] | None = None,
):
    """Open a map file; returns (page, log).

    ``serve=False`` answers no asset (offline test); ``tiles=False`` fails every basemap tile (as
    with no network; still recorded in ``log.tiles``); ``aliases`` maps more URLs to local files.
    """
    log = PageLog()
    tile = blank_tile()
    context = browser.new_context(viewport={"width": width, "height": height}, locale="ja-JP")

    def route(r):
        url = r.request.url
        if url.startswith(("file:", "data:")):
            return r.continue_()
        local = (vendored_file(url) or (aliases or {}).get(url)) if serve else None
        if local is not None:
            log.served.append(url)
            ctype = CONTENT_TYPES.get(local.suffix, "application/octet-stream")
            return r.fulfill(status=200, body=local.read_bytes(), content_type=ctype)
        if r.request.resource_type == "image" and "{" not in url:
            log.tiles.append(url)
            if not tiles:
                return r.abort("internetdisconnected")
            return r.fulfill(status=200, body=tile, content_type="image/png")
        log.blocked.append(url)
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))

    def on_dialog(d):
        log.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.goto(Path(html_file).resolve().as_uri(), wait_until="load")
    return page, log


MAP_JS = "window[document.querySelector('.folium-map').id]"
"""JavaScript expression of the page's Leaflet map (folium names the map variable after its div)."""
