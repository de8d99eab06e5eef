"""Is each chain's record up to date with the code? ``python -m repro status``.

For every chain and profile, the run folder ``results/<id>/<profile>/`` is compared with what a
run would execute now (see :mod:`repro.provenance`):

- ``fresh``: every notebook's inputs are those the record was made from;
- ``stale``: something a notebook depends on changed since — the notebook source, a parameter,
  a ``repro`` module it imports, a data registry entry, or an earlier result it reads; the
  report names them;
- ``missing``: no record (or no provenance in it);
- ``re-judge needed``: the numbers are current but ``claims.yaml`` changed since the verdicts
  were made: ``python -m repro judge <id>`` re-applies it in seconds, executing nothing.

Example
-------
>>> rows = chain_status("agn", "full")                 # doctest: +SKIP
>>> rows.state, rows.changed[:1]                       # doctest: +SKIP
('stale', ['02_simulate: module repro/astro/agn/psd.py changed'])
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from . import params as params_mod, provenance
from .paths import results_root

FRESH, STALE, MISSING, REJUDGE = "fresh", "stale", "missing", "re-judge needed"


@dataclass
class ChainStatus:
    """The state of one chain's record in one profile."""

    chain: str
    profile: str
    state: str
    changed: list[str] = field(default_factory=list)
    commit: str | None = None
    dirty: bool | None = None
    finished_utc: str | None = None

    def line(self) -> str:
        """One line for the terminal."""
        made = ""
        if self.commit:
            made = f"  (commit {self.commit[:10]}{', dirty tree' if self.dirty else ''}, {self.finished_utc})"
        head = f"{self.chain:<11} {self.profile:<6} {self.state:<8}{made}"
        if self.state in (STALE, REJUDGE):
            more = f"; and {len(self.changed) - 4} more" if len(self.changed) > 4 else ""
            head += "\n" + "\n".join(f"    {c}" for c in self.changed[:4]) + more
        return head


def chain_status(chain: str, profile: str) -> ChainStatus:
    """Compare the record of ``chain`` in ``profile`` with the current code, parameters and data.

    Parameters
    ----------
    chain : str
        A chain id.
    profile : {"smoke", "full"}
        The profile whose record is checked (with its default parameters: a record is made
        without overrides).

    Returns
    -------
    ChainStatus
    """
    from .chains import notebooks_of
    params_mod.check_profile(profile)
    folder = results_root() / chain / profile
    record = provenance.load_record(folder)
    if not record.get("notebooks"):
        return ChainStatus(chain, profile, MISSING)
    cs = params_mod.spec(chain)
    p = params_mod.load(chain, profile)
    run_params = {"profile": profile, **p.as_dict()}
    nbs = notebooks_of(chain)
    inputs = provenance.chain_inputs(nbs, run_params, cs.data, cs.reads)
    why = provenance.reasons(record, inputs, provenance.digests(inputs), run_params)
    changed = []
    for nb in nbs:
        if not (folder / nb.name).exists():
            changed.append(f"{nb.stem}: its executed notebook is missing")
        changed += [f"{nb.stem}: {w}" for w in why[nb.name] if "which re-runs" not in w]
    code = record.get("code") or {}
    state = STALE if changed else FRESH
    if state == FRESH:
        from .judge import needs_rejudge
        if needs_rejudge(chain, profile):
            state, changed = REJUDGE, ["claims.yaml changed since the verdicts were made"]
    return ChainStatus(chain, profile, state, changed, code.get("commit"), code.get("dirty"),
                       record.get("finished_utc"))


def all_status(profiles=params_mod.PROFILES, chain: str | None = None) -> list[ChainStatus]:
    """:func:`chain_status` of every chain (or one) in every profile."""
    chains = [chain] if chain else params_mod.available_chains()
    return [chain_status(c, prof) for c in chains for prof in profiles]


def as_json(rows: list[ChainStatus]) -> list[dict]:
    """The rows as JSON-able dicts (``repro status --json``)."""
    return [asdict(r) for r in rows]


def record_problems(chain: str, profile: str = "full") -> list[str]:
    """What is inconsistent in a chain's record (``[]``: nothing, or no record at all).

    Checked: every notebook of the chain is there executed; ``claims.json`` and
    ``provenance.json`` are there; every recorded claim is shown, with the same value and
    verdict, in the output of the notebook that recorded it (the executed notebooks are what the
    book shows, ``claims.json`` is what the claims page shows: they must agree); every declared
    claim was recorded.
    """
    import json

    from . import claims as claims_mod, claimspec
    from .chains import notebooks_of
    folder = results_root() / chain / profile
    if not folder.exists():
        return []
    problems = []
    for name in (provenance.FILENAME, claims_mod.FILENAME):
        if not (folder / name).exists():
            problems.append(f"{chain}/{profile}: {name} is missing")
    outputs: dict[str, str] = {}
    for nb in notebooks_of(chain):
        p = folder / nb.name
        if not p.exists():
            problems.append(f"{chain}/{profile}: executed notebook {nb.name} is missing")
            continue
        cells = json.loads(p.read_text(encoding="utf-8")).get("cells", [])
        outputs[nb.stem] = "\n".join(
            "".join(o.get("data", {}).get("text/html", "")) if isinstance(o.get("data", {}).get("text/html"), list)
            else str(o.get("data", {}).get("text/html", ""))
            for c in cells if c.get("cell_type") == "code" for o in c.get("outputs", []))
    store = claims_mod.load_store(folder / claims_mod.FILENAME)
    for key, c in store.items():
        html = outputs.get(str(c.get("notebook", "")).removesuffix(".ipynb"))
        if html is None:
            continue
        anchor = f'id="{claims_mod.anchor(chain, key)}"'
        if anchor not in html:
            problems.append(f"{chain}/{profile}: claim {key} is in claims.json but not shown in {c.get('notebook')}")
            continue
        shown = html[html.index(anchor):].split("</table>", 1)[0]
        import html as html_mod
        import re
        cells = dict(re.findall(r"<tr><th[^>]*>([^<]*)</th><td[^>]*>(.*?)</td></tr>", shown))
        ours = html_mod.escape(claims_mod.format_value(c.get("ours"), c.get("unit", "")))
        verdict = re.sub(r"<svg.*?</svg>", "", cells.get("verdict", ""))
        if cells.get("ours") != ours or f">{html_mod.escape(c.get('verdict', ''))}<" not in verdict:
            problems.append(f"{chain}/{profile}: claim {key}: claims.json says {ours} ({c.get('verdict')}), "
                            f"the executed notebook {c.get('notebook')} shows otherwise")
    if claimspec.exists(chain):
        for key in claimspec.expanded(chain, params_mod.load(chain, profile)):
            if key not in store:
                problems.append(f"{chain}/{profile}: declared claim {key} was not recorded")
    return problems
