"""A Sphinx extension for the book: each script is included once per page.

Jupyter Book 1.0.4 with sphinx-thebe adds thebe's configuration script twice to every page
(``const THEBE_JS_URL`` declared twice: a JavaScript SyntaxError in the browser console, found
by ``make check-book``). This drops exact duplicates from a page's scripts before it is written.
"""
from __future__ import annotations


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """``html-page-context`` handler: keep the first of identical script entries."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        attrs = getattr(js, "attributes", {}) or {}
        key = (str(getattr(js, "filename", None) or ""), tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept  # in place: Sphinx sorts and renders this very list after the event


def setup(app):
    """Register the handler (Sphinx extension entry point)."""
    app.connect("html-page-context", dedupe_scripts, priority=900)  # after the extensions that add scripts
    return {"parallel_read_safe": True, "parallel_write_safe": True}
