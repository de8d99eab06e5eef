"""Claims: every headline number of a paper next to ours, judged by a rule that is data.

A chain declares its claims in ``notebooks/<id>/claims.yaml`` (statement, where in the paper,
the paper's value, the rule; see :mod:`repro.claimspec`); ``record(chain, key, value,
note=...)`` judges one measured value by its declared rule and stores it in the run's
``claims.json``. Rules (one key each)::

    {"at_most": x}            ours <= x
    {"at_least": x}           ours >= x
    {"between": [lo, hi]}     lo <= ours <= hi
    {"within_rel": r}         |ours - paper| <= r * |paper|
    {"within_abs": a}         |ours - paper| <= a
    {"less_than_claim": k}    ours < the value of claim k (same chain and run)
    {"greater_than_claim": k} ours > the value of claim k
    {"p_below": a}            ours is a p-value and ours < a
    {"boolean": true}         bool(ours) is true (or false)
    {"not_checkable": why}    verdict "not checkable here", with the reason

Verdicts (:func:`grade`), in order of strength:

- ``reproduced``: the rule holds (the paper's number within the stated tolerance, or the
  qualitative effect) and, where the claim names a ``significance`` test, its p-value is below
  ``alpha``;
- ``direction only``: the effect has the paper's sign (the declared ``direction`` rule holds) but
  not its size, or its size without the significance;
- ``not reproduced``: neither;
- ``inconclusive``: a claim this one ``requires`` is neither reproduced nor direction only, so
  the value says nothing about the paper's claim;
- ``not checkable here``: with the reason.

A declared claim that a run did not record is listed as ``missing`` (and fails the notebook
tests). A claim that does not reproduce is stored as such; nothing here makes a notebook fail
because of a verdict. ``kind: check`` rows test our own implementation and ``kind: test`` rows
hold a p-value another claim needs; neither counts as a claim of the paper.
"""
from __future__ import annotations

import difflib
import html
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import ReproError
from .io import read_json, write_json
from .paths import results_root

REPRODUCED = "reproduced"
DIRECTION_ONLY = "direction only"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_CHECKABLE = "not checkable here"
MISSING = "missing"
VERDICTS = (REPRODUCED, DIRECTION_ONLY, NOT_REPRODUCED, INCONCLUSIVE, NOT_CHECKABLE, MISSING)
"""Every verdict, in the order tables and counts list them."""
VERDICT_COLOURS = {REPRODUCED: "#1a7f37", DIRECTION_ONLY: "#9a6700", NOT_REPRODUCED: "#cf222e",
                   INCONCLUSIVE: "#8250df", NOT_CHECKABLE: "#6e7781", MISSING: "#bc4c00"}
"""One colour per verdict (tables, icons, the front page figure)."""
RULES = (
    "at_most", "at_least", "between", "within_rel", "within_abs",
    "less_than_claim", "greater_than_claim", "p_below", "boolean", "not_checkable",
)
FILENAME = "claims.json"


class ClaimError(ReproError, ValueError):
    """A malformed claim: unknown rule, missing paper value, missing referenced claim."""


@dataclass
class Claim:
    """One judged claim as stored in ``claims.json`` (displayed as a table in notebooks)."""

    chain: str
    key: str
    statement: str
    paper: Any
    ours: Any
    unit: str
    rule: dict
    rule_text: str
    verdict: str
    reason: str
    note: str
    profile: str
    notebook: str
    source: str = ""
    kind: str = "claim"
    quote: str = ""
    why: str = ""
    direction_text: str = ""
    significance: str = ""
    requires: list = None

    def as_dict(self) -> dict:
        """The claim as a JSON-able dict (the form of ``claims.json``)."""
        return asdict(self)

    def _repr_html_(self) -> str:
        colour = VERDICT_COLOURS.get(self.verdict, "#6e7781")
        rule = self.rule_text + (f"; direction only: {self.direction_text}" if self.direction_text else "") \
            + (f"; needs {self.significance} < alpha" if self.significance else "") \
            + (f"; requires {', '.join(self.requires)}" if self.requires else "")
        rows = [
            ("claim", html.escape(self.statement)),
            *([("source", html.escape(self.source))] if self.source else []),
            *([("paper says", html.escape(self.quote))] if self.quote else []),
            ("paper", html.escape(format_value(self.paper, self.unit))),
            ("ours", html.escape(format_value(self.ours, self.unit))),
            ("rule", html.escape(rule)),
            *([("why this tolerance", html.escape(self.why))] if self.why else []),
            ("verdict", f'{verdict_icon(self.verdict)} <b style="color:{colour}">{html.escape(self.verdict)}</b>'
             + (f" — {html.escape(self.reason)}" if self.reason else "")),
        ]
        if self.kind != "claim":
            rows.insert(0, ("kind", "check of this implementation, not a claim of the paper" if self.kind == "check"
                            else "significance test of another claim"))
        if self.note:
            rows.append(("note", html.escape(self.note)))
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{v}</td></tr>" for k, v in rows)
        return (f'<div class="repro-claim" id="{anchor(self.chain, self.key)}">'
                f"<p><b>Claim <code>{html.escape(self.chain)}.{html.escape(self.key)}</code></b>"
                f"{' (smoke profile: not a verdict on the paper)' if self.profile == 'smoke' else ''}</p>"
                f"<table>{body}</table></div>")

    def __str__(self) -> str:
        return (f"{self.chain}.{self.key}: ours {format_value(self.ours, self.unit)} vs paper "
                f"{format_value(self.paper, self.unit)} [{self.rule_text}] -> {self.verdict}"
                + (f" ({self.reason})" if self.reason else ""))


def anchor(chain: str, key: str) -> str:
    """HTML id of a claim's cell output (the claims page links to it)."""
    return f"claim-{chain}-{key}".replace("_", "-").replace(".", "-").lower()


def format_value(v: Any, unit: str = "") -> str:
    """A value for tables: 4 significant digits, ``yes``/``no``, ``—`` for none, with its unit.

    >>> format_value(0.03214, "dex"), format_value(None), format_value(2.5e-6)
    ('0.03214 dex', '—', '2.5e-06')
    """
    if v is None:
        return "—"
    if isinstance(v, bool):
        s = "yes" if v else "no"
    elif isinstance(v, float):
        if math.isnan(v):
            s = "NaN"
        elif v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            s = f"{v:.3g}"
        else:
            s = f"{v:.4g}"
    elif isinstance(v, (list, tuple)):
        s = "[" + ", ".join(format_value(x) for x in v) + "]"
    else:
        s = str(v)
    numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
    return f"{s} {unit}" if unit and numeric else s


def _num(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        try:
            import numpy as np  # numpy scalars
            if isinstance(x, np.generic) and not isinstance(x, np.bool_):
                return float(x)
        except ImportError:  # pragma: no cover
            pass
        raise ClaimError(f"{what} must be a number, got {x!r}")
    return float(x)


def rule_text(rule: dict) -> str:
    """A rule in words for the tables, e.g. ``{"within_rel": 0.15}`` -> ``within 15% of paper``."""
    (name, arg), = rule.items()
    return {
        "at_most": lambda a: f"≤ {format_value(a)}",
        "at_least": lambda a: f"≥ {format_value(a)}",
        "between": lambda a: f"in [{format_value(a[0])}, {format_value(a[1])}]",
        "within_rel": lambda a: f"within {100 * a:g}% of paper",
        "within_abs": lambda a: f"within ±{format_value(a)} of paper",
        "less_than_claim": lambda a: f"< claim {a}",
        "greater_than_claim": lambda a: f"> claim {a}",
        "p_below": lambda a: f"p < {format_value(a)}",
        "boolean": lambda a: "true" if a else "false",
        "not_checkable": lambda a: "not checkable here",
    }[name](arg)


def _check_rule(rule: Any) -> tuple[str, Any]:
    if not isinstance(rule, dict) or len(rule) != 1:
        raise ClaimError(f"a rule is a dict with exactly one of {', '.join(RULES)}; got {rule!r}")
    (name, arg), = rule.items()
    if name not in RULES:
        raise ClaimError(f"unknown rule '{name}'; allowed: {', '.join(RULES)}")
    if name == "between" and not (isinstance(arg, (list, tuple)) and len(arg) == 2):
        raise ClaimError(f"rule 'between' needs [low, high], got {arg!r}")
    return name, arg


def grade(ours: Any, d: Mapping[str, Any], others: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """The graded verdict of a value under a resolved declaration (see the module docstring).

    Parameters
    ----------
    ours : number, bool or None
        The recorded value.
    d : mapping
        :meth:`repro.claimspec.ClaimSpec.resolve` of the claim: ``rule``, ``paper`` and the
        optional ``direction``, ``significance``, ``alpha``, ``requires``.
    others : mapping, optional
        The other claims of the run by key (for claim references, significance, prerequisites).
        A referenced claim that is not recorded yet is left out of the judgement (the reason
        says so); ``repro run`` re-judges the whole run when its last notebook is done.

    Returns
    -------
    (str, str)
        Verdict and reason.
    """
    others = others or {}
    rule = d["rule"]
    if "not_checkable" in rule:
        return judge(ours, rule, d.get("paper"), others)
    pending = []
    for req in d.get("requires") or []:
        if req not in others:
            pending.append(req)
            continue
        v = others[req].get("verdict")
        if v not in (REPRODUCED, DIRECTION_ONLY):
            return INCONCLUSIVE, f"prerequisite {req} is {v}"
    verdict, reason = judge(ours, rule, d.get("paper"), others)
    direction = d.get("direction")
    sig = d.get("significance") or ""
    p_text = ""
    p_ok = True
    if sig:
        if sig not in others:
            pending.append(sig)
        else:
            p = others[sig].get("ours")
            try:
                pv = _num(p, f"p-value of {sig}")
                p_ok = not math.isnan(pv) and pv < float(d.get("alpha", 0.05))
                p_text = f"p = {format_value(pv)} ({sig})"
            except ClaimError:
                p_ok, p_text = False, f"no p-value recorded in {sig}"
    reasons = [r for r in (reason,) if r]
    if verdict == REPRODUCED:
        if not p_ok:
            verdict = DIRECTION_ONLY
            reasons.append(f"the size holds but not the significance: {p_text} ≥ {d.get('alpha', 0.05):g}")
        elif p_text:
            reasons.append(p_text)
    elif verdict == NOT_REPRODUCED and direction is not None and ours is not None:
        dv, dreason = judge(ours, direction, d.get("paper"), others)
        if dv == REPRODUCED:
            verdict = DIRECTION_ONLY
            reasons.append(f"the paper's direction ({rule_text(direction)}) but not its size ({rule_text(rule)})"
                           + (f"; {p_text}" if p_text else ""))
    if pending:
        reasons.append(f"judged without {', '.join(pending)} (not recorded yet)")
    return verdict, "; ".join(reasons)


def judge(ours: Any, rule: dict, paper: Any = None, others: dict | None = None) -> tuple[str, str]:
    """Apply one ``rule`` to ``ours``; returns ``(verdict, reason)`` (``reproduced`` or not).

    :func:`grade` builds the graded verdict from this."""
    name, arg = _check_rule(rule)
    if name == "not_checkable":
        return NOT_CHECKABLE, str(arg)
    if ours is None:
        return NOT_REPRODUCED, "no value was measured"
    if name == "boolean":
        return (REPRODUCED, "") if bool(ours) == bool(arg) else (NOT_REPRODUCED, "")
    x = _num(ours, "our value")
    if math.isnan(x):
        return NOT_REPRODUCED, "our value is NaN"
    if name in ("less_than_claim", "greater_than_claim"):
        others = others or {}
        if arg not in others:
            return NOT_REPRODUCED, f"claim {arg} has not been recorded in this run yet"
        y = _num(others[arg]["ours"], f"value of claim '{arg}'")
        ok = x < y if name == "less_than_claim" else x > y
        return (REPRODUCED if ok else NOT_REPRODUCED), f"claim {arg} = {format_value(y)}"
    if name in ("within_rel", "within_abs"):
        if paper is None:
            raise ClaimError(f"rule {name} needs the paper's value (paper=...)")
        p = _num(paper, "paper value")
        tol = _num(arg, name) * (abs(p) if name == "within_rel" else 1.0)
        return (REPRODUCED if abs(x - p) <= tol else NOT_REPRODUCED), ""
    if name == "between":
        lo, hi = (_num(a, "between bound") for a in arg)
        return (REPRODUCED if lo <= x <= hi else NOT_REPRODUCED), ""
    a = _num(arg, name)
    ok = {"at_most": x <= a, "at_least": x >= a, "p_below": x < a}[name]
    return (REPRODUCED if ok else NOT_REPRODUCED), ""


def _plain(v: Any) -> Any:
    """numpy scalars/arrays to plain Python for JSON."""
    try:
        import numpy as np
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, np.ndarray):
            return v.tolist()
    except ImportError:  # pragma: no cover
        pass
    return v


def store_path(chain: str, profile: str, run_dir: Path | None = None) -> Path:
    """The ``claims.json`` of a run folder (default ``results/<chain>/<profile>``)."""
    return Path(run_dir) / FILENAME if run_dir else results_root() / chain / profile / FILENAME


def load_store(path: Path) -> dict:
    """The claims of one ``claims.json`` as ``{key: claim dict}`` (``{}`` when absent).

    Raises
    ------
    ClaimError
        The file exists but cannot be read as JSON.
    """
    if not Path(path).exists():
        return {}
    try:
        data = read_json(path)
    except (json.JSONDecodeError, OSError) as exc:
        raise ClaimError(f"{path}: claims store is unreadable ({exc}); re-run the chain") from None
    return data.get("claims", {})


def record(chain: str, key: str, value: Any, *, note: str = "", profile: str = "smoke",
           run_dir: Path | None = None, notebook: str = "", params: Any = None,
           not_checkable: str | None = None) -> Claim:
    """Judge one measured value by its declared rule and add it to the run's claims store (atomically).

    Parameters
    ----------
    chain, key : str
        Chain id and the claim's key in ``notebooks/<chain>/claims.yaml``.
    value : number, bool or None
        Our measured value (``None`` for a ``not_checkable`` claim).
    note : str
        How it was measured: sample sizes, spreads, the settings that matter.
    profile : {"smoke", "full"}
        Claims of the smoke profile are kept apart and never shown as verdicts in the book.
    run_dir : path, optional
        Folder of the run (default ``results/<chain>/<profile>``).
    notebook : str
        Stem of the recording notebook; must be the one the declaration names.
    params : mapping, optional
        The run's parameters, for ``{param: name}`` references in the declaration (default:
        the profile's values).
    not_checkable : str, optional
        This run cannot check the claim (e.g. too few seeds in the smoke profile): the verdict
        is ``not checkable here`` with this reason, whatever the declared rule.

    Raises
    ------
    ClaimError
        The key is not declared, or is recorded by another notebook than the declared one.
    """
    from . import claimspec
    if params is None:
        from . import params as params_mod
        params = params_mod.load(chain, profile)
    spec = claimspec.expanded(chain, params)
    if key not in spec:
        hint = difflib.get_close_matches(str(key), list(spec), n=1)
        raise ClaimError(f"claim '{key}' is not declared in {claimspec.path(chain)}"
                         + (f" (did you mean '{hint[0]}'?)" if hint else "")
                         + "; declare it there (statement, source, paper, rule) before recording it")
    cs = spec[key]
    if notebook and Path(notebook).stem != cs.notebook:
        raise ClaimError(f"claim '{chain}.{key}' is declared for notebook {cs.notebook}, "
                         f"but {Path(notebook).stem} recorded it")
    d = cs.resolve(params)
    path = store_path(chain, profile, run_dir)
    store = load_store(path)
    value = _plain(value)
    verdict, reason = (NOT_CHECKABLE, not_checkable) if not_checkable else grade(value, d, store)
    claim = make_claim(chain, key, d, value, verdict, reason, note=note, profile=profile,
                       notebook=notebook or cs.notebook)
    store[key] = claim.as_dict()
    regrade(store, spec, params)
    write_json(path, {"chain": chain, "profile": profile, "claims": store})
    return claim


def make_claim(chain: str, key: str, d: Mapping[str, Any], ours: Any, verdict: str, reason: str, *, note: str,
               profile: str, notebook: str) -> Claim:
    """A :class:`Claim` from a resolved declaration ``d`` and what a run measured."""
    direction = d.get("direction")
    return Claim(chain=chain, key=key, statement=d["statement"], paper=_plain(d["paper"]), ours=ours,
                 unit=d["unit"], rule=dict(d["rule"]), rule_text=rule_text(d["rule"]), verdict=verdict,
                 reason=reason, note=note, profile=profile, notebook=notebook, source=d["source"], kind=d["kind"],
                 quote=d.get("quote", ""), why=d.get("why", ""),
                 direction_text=rule_text(direction) if direction else "",
                 significance=d.get("significance", ""), requires=list(d.get("requires") or []))


def regrade(store: dict, spec: Mapping[str, Any], params: Any) -> None:
    """Re-judge, in place, every recorded claim that refers to another (claim rules,
    significance, prerequisites), until nothing changes; a verdict a run declared
    ``not checkable here`` stays."""
    for _ in range(len(store) + 1):
        changed = False
        for key, c in store.items():
            cs = spec.get(key)
            if cs is None or c.get("verdict") == NOT_CHECKABLE:
                continue
            d = cs.resolve(params)
            refs = bool(d.get("significance") or d.get("requires") or d.get("direction")) or any(
                n.endswith("_claim") for n in d["rule"])
            if not refs:
                continue
            v, r = grade(c.get("ours"), d, {k: x for k, x in store.items() if k != key})
            if (v, r) != (c.get("verdict"), c.get("reason")):
                c["verdict"], c["reason"] = v, r
                changed = True
        if not changed:
            return


def missing_in(chain: str, notebook: str, store: Mapping[str, Any], params: Any = None) -> list[str]:
    """Keys that ``notebook`` of ``chain`` declares (under ``params``) but that are not in ``store``."""
    from . import claimspec
    return [c.key for c in claimspec.for_notebook(chain, notebook, params) if c.key not in store]


def drop_notebooks(path: Path, notebooks: Iterable[str]) -> None:
    """Remove the claims made by ``notebooks`` (before those notebooks are re-run)."""
    names = {Path(n).stem for n in notebooks}
    store = load_store(path)
    if not store:
        return
    kept = {k: v for k, v in store.items() if Path(v.get("notebook", "")).stem not in names}
    data = read_json(path)
    data["claims"] = kept
    write_json(path, data)


# ---------------------------------------------------------------------------- tables
def collect(chain: str | None = None, profile: str | None = None, root: Path | None = None,
            declared: bool = True) -> list[dict]:
    """Every stored claim (list of dicts), filtered by chain and profile, in declaration order.

    With ``declared`` (the default), every claim declared in a chain's ``claims.yaml`` that a
    run of that chain did not record is added with the verdict ``missing``; a chain that has
    not run at all in the requested profile (``full`` when none is given) lists all its
    declared claims as ``missing``.
    """
    from . import claimspec, params as params_mod
    root = Path(root) if root else results_root()
    stores: dict[tuple[str, str], dict] = {}
    for path in sorted(root.glob(f"{chain or '*'}/{profile or '*'}/{FILENAME}")):
        if path.parent.name.startswith(".") or "@" in path.parent.name:
            continue
        stores[(path.parent.parent.name, path.parent.name)] = load_store(path)
    if declared:
        chains = [chain] if chain else params_mod.available_chains()
        for c in chains:
            if claimspec.exists(c) and not any(k[0] == c for k in stores):
                stores[(c, profile or "full")] = {}
    out: list[dict] = []
    for (c, prof), store in sorted(stores.items()):
        prof_params = params_mod.load(c, prof if prof in params_mod.PROFILES else "full")
        spec = claimspec.expanded(c, prof_params) if declared and claimspec.exists(c) else {}
        for key, cs in spec.items():
            if key in store:
                out.append(store[key])
            else:
                d = cs.resolve(prof_params)
                out.append(make_claim(c, key, d, None, MISSING, "not run yet" if not store else "not recorded by the run",
                                      note="", profile=prof, notebook=cs.notebook).as_dict())
        out.extend(v for k, v in store.items() if k not in spec)
    return out


COLUMNS = ("chain", "key", "statement", "paper", "ours", "rule", "verdict", "profile")


def as_json_rows(claims: list[dict]) -> list[dict]:
    """Rows of ``repro claims --format json``: :data:`COLUMNS` plus unit, rule text, reason, note, source."""
    rows = []
    for c in claims:
        row = {k: c.get(k) for k in COLUMNS}
        row["rule"] = c.get("rule")
        row.update(unit=c.get("unit", ""), rule_text=c.get("rule_text", ""), reason=c.get("reason", ""),
                   note=c.get("note", ""), notebook=c.get("notebook", ""), source=c.get("source", ""),
                   kind=c.get("kind", "claim"))
        rows.append(row)
    return rows


def text_table(claims: list[dict]) -> str:
    """The claims as a fixed-width terminal table with a line of counts per verdict."""
    if not claims:
        return "no claims recorded yet: run a chain first (python -m repro run <id>)"
    header = ("chain", "claim", "paper", "ours", "rule", "verdict", "profile")
    rows = [(c["chain"], c["key"], format_value(c["paper"], c.get("unit", "")),
             format_value(c["ours"], c.get("unit", "")), c["rule_text"],
             c["verdict"] + (f" ({c['reason']})" if c.get("reason") and c["verdict"] in (NOT_CHECKABLE, MISSING) else ""),
             c["profile"]) for c in claims]
    widths = [min(48, max(len(str(r[i])) for r in rows + [header])) for i in range(len(header))]

    def fmt(r):
        return "  ".join(str(v)[:w].ljust(w) for v, w in zip(r, widths)).rstrip()

    lines = [fmt(header), fmt(tuple("-" * w for w in widths))] + [fmt(r) for r in rows]
    lines.append("")
    lines.append(count_line(claims))
    return "\n".join(lines)


def counts(claims: list[dict]) -> dict[str, dict[str, int]]:
    """Verdict counts by kind: ``{"claim": {verdict: n}, "check": {...}, "test": {...}}``, verdicts in
    the order of :data:`VERDICTS`."""
    out: dict[str, dict[str, int]] = {}
    for c in claims:
        k = out.setdefault(c.get("kind") or "claim", {})
        k[c["verdict"]] = k.get(c["verdict"], 0) + 1
    order = {v: i for i, v in enumerate(VERDICTS)}
    return {k: dict(sorted(v.items(), key=lambda kv: order.get(kv[0], 99))) for k, v in out.items()}


def count_line(claims: list[dict]) -> str:
    """One line of counts: the paper's claims per verdict, then the checks of this implementation.

    >>> count_line([{"verdict": "reproduced"}, {"verdict": "direction only"},
    ...             {"verdict": "reproduced", "kind": "check"}, {"verdict": "reproduced", "kind": "test"}])
    '2 claims of the papers: 1 reproduced, 1 direction only; checks of this implementation: 1 of 1 pass'
    """
    c = counts(claims)
    claim = c.get("claim", {})
    parts = [f"{sum(claim.values())} claims of the papers: " + ", ".join(f"{n} {v}" for v, n in claim.items())]
    chk = c.get("check", {})
    if chk:
        parts.append(f"checks of this implementation: {chk.get(REPRODUCED, 0)} of {sum(chk.values())} pass")
    return "; ".join(parts)


# Verdict icons as inline SVG: they render whatever fonts the browser has (emoji do not in
# Debian's Chromium without a colour-emoji font).
_ICON_SHAPES = {
    REPRODUCED: ('<path d="M4.5 8.2l2.4 2.4 4.6-5.2" stroke="#fff" stroke-width="2" fill="none"/>'),
    DIRECTION_ONLY: ('<path d="M4 8h6.5M8 5l3 3-3 3" stroke="#fff" stroke-width="1.8" fill="none"/>'),
    NOT_REPRODUCED: ('<path d="M5 5l6 6M11 5l-6 6" stroke="#fff" stroke-width="2"/>'),
    INCONCLUSIVE: ('<path d="M6 6.2a2 2 0 1 1 2.6 1.9c-.5.2-.6.5-.6 1.1" stroke="#fff" stroke-width="1.6" '
                   'fill="none"/><circle cx="8" cy="11.6" r="1" fill="#fff"/>'),
    NOT_CHECKABLE: ('<path d="M4.5 8h7" stroke="#fff" stroke-width="2"/>'),
    MISSING: ('<path d="M8 4v5" stroke="#fff" stroke-width="2"/><circle cx="8" cy="11.5" r="1.1" fill="#fff"/>'),
}


def verdict_icon(verdict: str) -> str:
    """An inline SVG icon for a verdict (class ``repro-verdict-icon``), with the verdict as its title."""
    colour, mark = VERDICT_COLOURS.get(verdict, "#6e7781"), _ICON_SHAPES.get(verdict, "")
    return (f'<svg class="repro-verdict-icon" role="img" aria-label="{html.escape(verdict)}" width="14" height="14" '
            f'viewBox="0 0 16 16" style="vertical-align:-2px"><title>{html.escape(verdict)}</title>'
            f'<circle cx="8" cy="8" r="8" fill="{colour}"/>{mark}</svg>')


def _md(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def markdown_table(claims: list[dict], link_base: str | None = "_executed",
                   across: Mapping[str, str] | None = None) -> str:
    """The claims table as MyST markdown; ``link_base`` is where executed notebooks sit
    relative to the page (``None``: no links); ``across`` adds a column "Across seeds" (claim key
    -> e.g. "reproduced in 4 of 5; 0.91 to 0.97", from a committed seed sweep)."""
    if not claims:
        return "_No claims recorded for this selection yet._\n"
    lines = ["| Paper | Claim | Paper's value | Ours | Rule | Verdict |" + (" Across seeds |" if across else ""),
             "|---|---|---|---|---|---|" + ("---|" if across else "")]
    for c in claims:
        kind = c.get("kind") or "claim"
        verdict = f'{verdict_icon(c["verdict"])} {c["verdict"]}'
        if c.get("reason"):
            verdict += f": {c['reason']}"
        if c.get("profile") == "smoke":
            verdict = f"(smoke run, no verdict) {verdict}"
        claim = f"{_md(c['statement'])} (`{c['key']}`)"
        if kind != "claim":
            claim = ("*check of this implementation:* " if kind == "check" else "*significance test:* ") + claim
        if link_base and c.get("notebook") and c["verdict"] != MISSING:  # a missing claim has no cell
            nb = Path(c["notebook"]).stem
            claim += f' <a href="{link_base}/{c["chain"]}/{nb}.html#{anchor(c["chain"], c["key"])}">[cell]</a>'
        if c.get("quote"):
            claim += f"<br><small>Paper: {html.escape(_md(c['quote']))}</small>"
        rule = _md(c["rule_text"])
        if c.get("direction_text"):
            rule += f"; direction only: {_md(c['direction_text'])}"
        if c.get("significance"):
            rule += f"; and {c['significance']} p < 0.05"
        if c.get("requires"):
            rule += f"; requires {', '.join(c['requires'])}"
        if c.get("why"):
            rule += f"<br><small>Why: {html.escape(_md(c['why']))}</small>"
        lines.append(f"| `{c['chain']}` | {claim} | {_md(format_value(c['paper'], c.get('unit', '')))} | "
                     f"{_md(format_value(c['ours'], c.get('unit', '')))} | {rule} | {_md(verdict)} |"
                     + (f" {_md(across.get(c['key'], '—'))} |" if across else ""))
    return "\n".join(lines) + "\n"
