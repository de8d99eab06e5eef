"""The browser check of the built book fails on a broken image, a broken link or a JS error."""
import base64
import shutil

import pytest

from repro import bookcheck

needs_chromium = pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("chromedriver")),
    reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)")

# a 1x1 PNG
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _site(tmp_path, body_a: str):
    (tmp_path / "dot.png").write_bytes(PNG)
    (tmp_path / "b.html").write_text('<html><body><h1 id="top">B</h1><img src="dot.png"></body></html>')
    (tmp_path / "a.html").write_text(f"<html><body>{body_a}</body></html>")
    return tmp_path


@pytest.fixture(scope="module")
def driver():
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    d = bookcheck.browser()
    yield d
    d.quit()


@needs_chromium
def test_good_pages_pass(tmp_path, driver):
    site = _site(tmp_path, '<img src="dot.png"><a href="b.html#top">b</a>')
    reports = bookcheck.check(site, ["a.html", "b.html"], driver=driver, screenshots=tmp_path / "shots")
    assert all(r.ok for r in reports), [r.line() for r in reports]
    assert (tmp_path / "shots" / "a.png").stat().st_size > 0


@needs_chromium
@pytest.mark.parametrize("body,problem", [
    ('<img src="missing.png">', "broken images: missing.png"),
    ('<img src="dot.png"><a href="nope.html">x</a>', "broken links: nope.html"),
    ('<a href="b.html#bottom">x</a>', "broken links: b.html#bottom"),
    ("<script>undefinedFunction();</script>", "js errors"),
])
def test_broken_pages_fail(tmp_path, driver, body, problem):
    site = _site(tmp_path, body)
    rep = bookcheck.check(site, ["a.html"], driver=driver)[0]
    assert not rep.ok and problem in rep.line(), rep.line()


@needs_chromium
def test_claims_page_rows_and_icons(tmp_path, driver):
    from repro import claims
    rows = "".join(f"<tr><td>x</td><td>{claims.verdict_icon(v)} {v}</td></tr>"
                   for v in ("reproduced", "not reproduced"))
    table = f"<table><thead><tr><th>Claim</th><th>Verdict</th></tr></thead><tbody>{rows}</tbody></table>"
    site = _site(tmp_path, table)
    assert bookcheck.check(site, ["a.html"], expected_claims=2, claims_page="a.html", driver=driver)[0].ok
    rep = bookcheck.check(site, ["a.html"], expected_claims=3, claims_page="a.html", driver=driver)[0]
    assert "2 claim rows, expected 3" in rep.line()
    (tmp_path / "a.html").write_text(f"<html><body>{table.replace('<svg', '<i').replace('</svg>', '</i>')}</body></html>")
    rep = bookcheck.check(site, ["a.html"], expected_claims=2, claims_page="a.html", driver=driver)[0]
    assert "2 verdicts without a visible icon" in rep.line()


def test_toc_pages_lists_every_page():
    from repro.paths import repo_root
    pages = bookcheck.toc_pages(repo_root())
    assert pages[0] == "book/intro.html" and "book/claims.html" in pages
    assert "book/_executed/agn/02_simulate.html" in pages
