"""The built book, opened in a real browser: ``python -m repro check-book`` (``make check-book``).

The HTML in ``_build/html`` is served on 127.0.0.1 and every page of ``_toc.yml`` is opened in
headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by Selenium; nothing is
downloaded). On each page:

- it loads (HTTP 200) without JavaScript errors (severe browser-console entries);
- every ``<img>`` has decoded (``naturalWidth > 0``);
- every internal link resolves: its target page exists and, when it names an anchor, the anchor
  exists on that page;
- on the claims page, the verdict table has exactly one row per claim of the records, each
  showing its verdict with a visible icon.

Screenshots of the front page and of the claims page are written to ``_build/screenshots/``.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import yaml

from .errors import ReproError

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver",)
VERDICT_WORDS = ("reproduced", "not reproduced", "not checkable here", "missing", "direction only", "inconclusive")


class BookCheckError(ReproError):
    """The browser or the built book is not there."""


@dataclass
class PageReport:
    """What was wrong with one page (empty lists: nothing)."""

    page: str
    broken_images: list[str] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the page passed every check."""
        return not (self.broken_images or self.broken_links or self.js_errors or self.other)

    def line(self) -> str:
        """One line (or a few) for the terminal."""
        if self.ok:
            return f"ok    {self.page}"
        parts = [f"{k.replace('_', ' ')}: {', '.join(v[:5])}" + (f" (+{len(v) - 5})" if len(v) > 5 else "")
                 for k, v in (("broken_images", self.broken_images), ("broken_links", self.broken_links),
                              ("js_errors", self.js_errors), ("problems", self.other)) if v]
        return f"FAIL  {self.page}: " + "; ".join(parts)


def toc_pages(root: Path) -> list[str]:
    """Every page of ``_toc.yml`` as a path relative to the HTML root (``book/agn.html`` ...)."""
    return [f"{f}.html" for f in toc_files(root)]


def toc_files(root: Path) -> list[str]:
    """Every ``file`` entry of ``_toc.yml`` (the root first), without suffix: ``book/intro`` ..."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(toc.get("parts", []))
    return found


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log on the terminal
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # the browser closed a connection early: not our error
        pass


@contextmanager
def serve(html_dir: Path):
    """Serve ``html_dir`` on 127.0.0.1 (a free port) while the block runs; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(html_dir))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)


def _find(candidates) -> str | None:
    return next((c for c in candidates if Path(c).exists()), None) or shutil.which(Path(candidates[0]).name)


def browser(chromium: str | None = None, chromedriver: str | None = None):
    """A headless Chromium under Selenium, with the browser console log enabled.

    Raises
    ------
    BookCheckError
        Chromium or ChromeDriver is not installed (``.ci/run`` installs Debian's packages).
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    chromium = chromium or _find(CHROMIUM)
    chromedriver = chromedriver or _find(CHROMEDRIVER)
    if not chromium or not chromedriver:
        raise BookCheckError("Chromium and ChromeDriver are needed: install Debian's packages "
                             "(apt-get install chromium chromium-driver; .ci/run does this)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
              "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--window-size=1280,1600"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    return webdriver.Chrome(service=Service(chromedriver), options=opts)


_BROKEN_IMAGES = "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'));"
_LINKS = "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);"
_CLAIM_ROWS = """
const t = document.querySelectorAll('table');
const rows = [];
for (const table of t) {
  const head = table.querySelector('thead');
  if (!head || !head.innerText.includes('Verdict')) continue;
  const names = Array.from(head.querySelectorAll('th')).map(th => th.innerText.trim());
  const at = names.indexOf('Verdict');
  for (const tr of table.querySelectorAll('tbody tr')) {
    const cells = tr.querySelectorAll('td');
    const cell = cells[at >= 0 ? at : cells.length - 1];
    const icon = cell ? cell.querySelector('.repro-verdict-icon') : null;
    rows.push({text: cell ? cell.innerText : '', icon: icon ? icon.getBoundingClientRect().width : 0});
  }
}
return rows;
"""


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except urllib.error.URLError:
        return 0


def check(html_dir: Path, pages: list[str], expected_claims: int | None = None,
          claims_page: str = "book/claims.html", screenshots: Path | None = None,
          driver=None) -> list[PageReport]:
    """Open every page in the browser and check it (see the module docstring).

    Parameters
    ----------
    html_dir : Path
        The built HTML (``_build/html``).
    pages : list of str
        Pages to open, relative to ``html_dir`` (see :func:`toc_pages`).
    expected_claims : int, optional
        Rows the claims page must have (the number of claims in the records).
    claims_page : str
        Which page holds the claims table.
    screenshots : Path, optional
        Folder for screenshots of the first page and the claims page.
    driver : optional
        A Selenium driver (default: :func:`browser`).

    Returns
    -------
    list of PageReport
        One per page, in order.
    """
    html_dir = Path(html_dir)
    if not (html_dir / pages[0]).exists():
        raise BookCheckError(f"{html_dir / pages[0]} does not exist: build the book first (make book)")
    own = driver is None
    driver = driver or browser()
    ids_cache: dict[str, set[str] | None] = {}

    def ids_of(page_url: str) -> set[str] | None:
        if page_url not in ids_cache:
            try:
                with urllib.request.urlopen(page_url, timeout=30) as r:
                    parser = _Ids()
                    parser.feed(r.read().decode("utf-8", "replace"))
                    ids_cache[page_url] = parser.ids
            except (urllib.error.URLError, OSError):
                ids_cache[page_url] = None
        return ids_cache[page_url]

    reports = []
    try:
        with serve(html_dir) as base:
            for i, page in enumerate(pages):
                rep = PageReport(page)
                url = urllib.parse.urljoin(base, page)
                code = _status(url)
                if code != 200:
                    rep.other.append(f"HTTP {code}")
                    reports.append(rep)
                    continue
                driver.get(url)
                rep.broken_images = [str(s) for s in driver.execute_script(_BROKEN_IMAGES)]
                for href in sorted(set(driver.execute_script(_LINKS))):
                    if not href.startswith(base):
                        continue
                    target, _, frag = href.partition("#")
                    ids = ids_of(target)
                    if ids is None:
                        rep.broken_links.append(href[len(base):])
                    elif frag and urllib.parse.unquote(frag) not in ids:
                        rep.broken_links.append(href[len(base):])
                rep.js_errors = [e.get("message", "") for e in driver.get_log("browser")
                                 if e.get("level") == "SEVERE" and "/favicon.ico" not in e.get("message", "")]
                if page == claims_page:
                    rows = driver.execute_script(_CLAIM_ROWS)
                    if expected_claims is not None and len(rows) != expected_claims:
                        rep.other.append(f"{len(rows)} claim rows, expected {expected_claims}")
                    bad = [r["text"][:40] for r in rows if not any(w in r["text"] for w in VERDICT_WORDS)]
                    if bad:
                        rep.other.append(f"rows without a verdict: {bad[:3]}")
                    no_icon = sum(1 for r in rows if not r["icon"] > 0)
                    if no_icon:
                        rep.other.append(f"{no_icon} verdicts without a visible icon")
                if screenshots is not None and (i == 0 or page == claims_page):
                    Path(screenshots).mkdir(parents=True, exist_ok=True)
                    driver.save_screenshot(str(Path(screenshots) / (Path(page).stem + ".png")))
                reports.append(rep)
    finally:
        if own:
            driver.quit()
    return reports
