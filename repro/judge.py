"""Re-judge a record without re-running it: ``python -m repro judge [<id>]``.

A verdict is derived data: the measured value (and note) of each claim is what a run recorded,
the statement, paper value and rule are what ``claims.yaml`` declares now. Re-judging applies
the current declarations to the recorded values, rewrites ``claims.json`` and the claim tables
shown in the executed notebooks (so that the book and the claims page agree), and notes the
hash of ``claims.yaml`` in ``provenance.json``. No notebook is executed: it takes seconds.

Changing a rule, a tolerance or a statement never makes a record stale for recomputation;
``repro status`` shows ``re-judge needed`` until ``repro judge`` has run.

Example
-------
>>> claims_yaml_digest("agn")          # doctest: +SKIP
'3f1c...'
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from . import claims as claims_mod, claimspec, params as params_mod, provenance
from .io import write_json, write_text
from .paths import results_root


def claims_yaml_digest(chain: str) -> str | None:
    """sha256 of ``notebooks/<chain>/claims.yaml`` (``None`` when the chain declares none)."""
    p = claimspec.path(chain)
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None


def _params_of(folder: Path, chain: str, profile: str):
    record = provenance.load_record(folder)
    recorded = dict(record.get("params") or {})
    recorded.pop("profile", None)
    base = params_mod.load(chain, profile).as_dict()
    return {**base, **recorded}


def rejudge(chain: str, profile: str = "full", folder: Path | None = None) -> list[tuple[str, str, str]]:
    """Apply the current ``claims.yaml`` to the values recorded in a run folder.

    Returns
    -------
    list of (key, old verdict, new verdict)
        Every claim of the run, in order.
    """
    folder = Path(folder) if folder else results_root() / chain / profile
    store_path = folder / claims_mod.FILENAME
    store = claims_mod.load_store(store_path)
    if not store:
        return []
    params = _params_of(folder, chain, profile)
    spec = claimspec.expanded(chain, params)
    new_store: dict[str, dict] = {}
    changes = []
    for key, old in store.items():
        cs = spec.get(key)
        if cs is None:   # no longer declared: kept as it was, listed as undeclared by the tables
            new_store[key] = old
            continue
        d = cs.resolve(params)
        if old.get("verdict") == claims_mod.NOT_CHECKABLE and "not_checkable" not in d["rule"] and old.get("reason"):
            verdict, reason = claims_mod.NOT_CHECKABLE, old["reason"]   # the run said it could not check it
        else:
            verdict, reason = claims_mod.grade(old.get("ours"), d, {k: v for k, v in (store | new_store).items()
                                                                     if k != key})
        c = claims_mod.make_claim(chain, key, d, old.get("ours"), verdict, reason, note=old.get("note", ""),
                                  profile=old.get("profile", profile), notebook=old.get("notebook", cs.notebook))
        new_store[key] = c.as_dict()
    claims_mod.regrade(new_store, spec, params)
    for key, old in store.items():
        changes.append((key, old["verdict"], new_store[key]["verdict"]))
    write_json(store_path, {"chain": chain, "profile": profile, "claims": new_store})
    _rewrite_notebooks(folder, chain, new_store)
    record = provenance.load_record(folder)
    if record:
        record["claims_yaml"] = claims_yaml_digest(chain)
        write_json(folder / provenance.FILENAME, record)
    return changes


def _rewrite_notebooks(folder: Path, chain: str, store: dict) -> None:
    """Replace each claim's displayed table in the executed notebooks with the re-judged one."""
    by_nb: dict[str, list[dict]] = {}
    for c in store.values():
        by_nb.setdefault(str(c.get("notebook", "")).removesuffix(".ipynb"), []).append(c)
    for stem, cs in by_nb.items():
        p = folder / f"{stem}.ipynb"
        if not p.exists():
            continue
        import nbformat
        nb = nbformat.read(str(p), as_version=4)
        changed = False
        for cell in nb.get("cells", []):
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                html = data.get("text/html")
                if html is None:
                    continue
                text = "".join(html) if isinstance(html, list) else html
                for c in cs:
                    if f'id="{claims_mod.anchor(chain, c["key"])}"' in text:
                        claim = claims_mod.Claim(**{k: c.get(k) for k in claims_mod.Claim.__dataclass_fields__})
                        data["text/html"] = claim._repr_html_()
                        if "text/plain" in data:
                            data["text/plain"] = repr(claim)
                        changed = True
        if changed:
            write_text(p, nbformat.writes(nb) + "\n")


def needs_rejudge(chain: str, profile: str = "full") -> bool:
    """Whether the record's verdicts were judged with another ``claims.yaml`` than today's."""
    record = provenance.load_record(results_root() / chain / profile)
    if not record:
        return False
    return record.get("claims_yaml") != claims_yaml_digest(chain)
