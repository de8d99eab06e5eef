"""The declared claims of a chain: ``notebooks/<id>/claims.yaml``.

A chain's claims are data, declared before anything runs, so that the book and
``python -m repro claims`` can list every claim of a paper, and a claim that a run did not
record shows as ``missing`` instead of vanishing. The file::

    chain: agn
    claims:
      erdf_ks_p:
        notebook: 02_simulate        # stem of the notebook that records the claim
        statement: "Simulated light curves reproduce the input ERDF (KS test p > 0.05)"
        source: "Sect. 2, Fig. 1"    # where in the paper: section, table or figure
        paper: "input ERDF"          # the paper's value: number, text, list or {param: <name>}
        rule: {at_least: 0.05}       # one rule of repro.claims.RULES; numbers may be {param: <name>}
        unit: ""                     # optional
        kind: claim                  # optional: claim (the paper's), check (of our own code) or
                                     #   test (the p-value another claim's `significance` names)
        headline: true               # optional: the paper's headline claim, shown on the front page
        quote: "..."                 # the paper's words, briefly, with section/table/figure
        why: "..."                   # why the tolerance of a within_rel/within_abs/between rule
        direction: {at_most: 0.05}   # optional: the weaker test that earns "direction only"
        significance: erdf_ks_test   # optional: a `kind: test` claim whose value is the p-value;
        alpha: 0.05                  #   "reproduced" needs it below alpha (default 0.05)
        requires: [other_key]        # optional: "inconclusive" unless these are reproduced
                                     #   (or direction only)

A claim made once per value of a list parameter is declared once, as a template::

      loss_lower_n{n}:
        for_each: {n: n_workers}     # one claim per value of the parameter n_workers
        statement: "With {n} workers, D² reaches a lower loss than D-PSGD"

and a run with ``n_workers = [8, 16]`` must record ``loss_lower_n8`` and ``loss_lower_n16``
(``for_each: {M: devices, except: [1]}`` leaves values out).

A notebook then records only what it measured::

    run.claim("erdf_ks_p", float(ks.pvalue), note=f"KS statistic {ks.statistic:.2e}")

``{param: <name>}`` stands for the value of a parameter of the run (e.g. the input PSD slope
the simulation was given), and a statement may hold ``{name}`` placeholders of parameters,
filled with :meth:`str.format`. Everything is checked when the file is loaded: unknown keys,
rules, notebooks and parameters give a :class:`~repro.claims.ClaimError` naming the file and
the claim.

Example
-------
>>> from repro import claimspec
>>> spec = claimspec.load("agn")                       # doctest: +SKIP
>>> spec["erdf_ks_p"].notebook                         # doctest: +SKIP
'02_simulate'
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from .errors import ReproError
from .paths import notebooks_root

FILENAME = "claims.yaml"
KINDS = ("claim", "check", "test")
REQUIRED = ("notebook", "statement", "source", "rule")
OPTIONAL = ("paper", "unit", "kind", "headline", "for_each", "quote", "why", "direction", "significance", "alpha",
            "requires")
TOLERANCE_RULES = ("within_rel", "within_abs", "between")
"""Rules with a tolerance around the paper's value: each needs a ``why``."""
DIRECTIONAL_RULES = ("at_most", "at_least", "less_than_claim", "greater_than_claim", "p_below", "boolean")
"""Rules that test a sign or an order, not the paper's number."""
# rules whose argument is a number, a pair of numbers, a claim key, a boolean or a reason
_NUMERIC = ("at_most", "at_least", "within_rel", "within_abs", "p_below")


class ClaimSpecError(ReproError, ValueError):
    """A malformed ``claims.yaml``: the message names the file and the claim."""


@dataclass(frozen=True)
class ClaimSpec:
    """One declared claim (see the module docstring for the meaning of each field)."""

    chain: str
    key: str
    notebook: str
    statement: str
    source: str
    rule: Mapping[str, Any]
    paper: Any = None
    unit: str = ""
    kind: str = "claim"
    headline: bool = False
    for_each: tuple[str, str, tuple] | None = None   # (variable, list parameter, values left out)
    values: Mapping[str, Any] = field(default_factory=dict)   # the variable's value, in an expanded claim
    quote: str = ""
    why: str = ""
    direction: Mapping[str, Any] | None = None
    significance: str = ""
    alpha: float = 0.05
    requires: tuple = ()

    def _format_key(self, key: str, var: str, v: Any) -> str:
        return key.replace("{" + var + "}", str(v)) if key else key

    def expand(self, params: Mapping[str, Any]) -> list["ClaimSpec"]:
        """The claims this declaration stands for under ``params`` (itself, or one per value)."""
        if self.for_each is None:
            return [self]
        var, param, skip = self.for_each
        out = []
        for v in params[param]:
            if v in skip:
                continue
            out.append(ClaimSpec(self.chain, self.key.format(**{var: v}), self.notebook, self.statement, self.source,
                                 self.rule, self.paper, self.unit, self.kind, self.headline, None,
                                 MappingProxyType({var: v}), self.quote, self.why, self.direction,
                                 self._format_key(self.significance, var, v), self.alpha,
                                 tuple(self._format_key(r, var, v) for r in self.requires)))
        return out

    def resolve(self, params: Mapping[str, Any] | None = None) -> dict:
        """Statement, paper value and rule with parameter references replaced by their values.

        Parameters
        ----------
        params : mapping, optional
            The run's parameters (:class:`repro.params.Params`); without them the chain's
            ``smoke`` defaults are used, which is how the claims page shows a claim that was
            not recorded.

        Returns
        -------
        dict
            ``statement``, ``paper``, ``rule``, ``unit``, ``source``, ``kind``, ``quote``,
            ``why``, ``direction`` (a rule or ``None``), ``significance``, ``alpha``,
            ``requires``.
        """
        if params is None:
            from . import params as params_mod
            params = params_mod.load(self.chain, "smoke")
        values = dict(params.items()) if hasattr(params, "items") else dict(params)
        values.update(self.values)
        return {"statement": self.statement.format(**values), "paper": _value(self.paper, values),
                "rule": _resolve_rule(self.rule, values), "unit": self.unit, "source": self.source,
                "kind": self.kind, "quote": self.quote, "why": self.why,
                "direction": None if self.direction is None else _resolve_rule(self.direction, values),
                "significance": self.significance, "alpha": self.alpha, "requires": list(self.requires)}


def _resolve_rule(rule: Mapping[str, Any], values: Mapping[str, Any]) -> dict:
    (name, arg), = rule.items()
    if name == "between":
        arg = [_value(a, values) for a in arg]
    else:
        arg = _value(arg, values)
    return {name: arg}


def _value(x: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(x, dict) and set(x) == {"param"}:
        return params[x["param"]]
    return x


def path(chain: str) -> Path:
    """Where the declared claims of ``chain`` live."""
    return notebooks_root() / chain / FILENAME


def exists(chain: str) -> bool:
    """Whether ``chain`` declares its claims in a ``claims.yaml``."""
    return path(chain).is_file()


_CACHE: dict[Path, tuple[float, Mapping[str, ClaimSpec]]] = {}


def load(chain: str) -> Mapping[str, ClaimSpec]:
    """Read and check ``notebooks/<chain>/claims.yaml``; returns ``{key: ClaimSpec}`` in file order.

    Raises
    ------
    ClaimSpecError
        The file is missing or not YAML, names another chain, or a claim has an unknown or
        missing field, an unknown rule or parameter, a malformed rule argument or a notebook
        that is not part of the chain.
    """
    from . import params as params_mod
    cs = params_mod.spec(chain)  # unknown chain -> ChainError with "did you mean"
    p = path(chain)
    if not p.is_file():
        raise ClaimSpecError(f"chain '{chain}' declares no claims: {p} does not exist")
    mtime = p.stat().st_mtime_ns
    hit = _CACHE.get(p)
    if hit and hit[0] == mtime:
        return hit[1]
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ClaimSpecError(f"{p}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("claims"), dict):
        raise ClaimSpecError(f"{p}: expected a mapping with 'chain' and 'claims'")
    if raw.get("chain") != chain:
        raise ClaimSpecError(f"{p}: 'chain' is {raw.get('chain')!r}, expected {chain!r}")
    notebooks = [Path(n).stem for n in cs.notebooks]
    out = {}
    for key, d in raw["claims"].items():
        out[key] = _parse(p, chain, key, d, notebooks, cs.params)
    heads = [c.key for c in out.values() if c.headline]
    if len(heads) > 1:
        raise ClaimSpecError(f"{p}: only one headline claim per chain, got {', '.join(heads)}")
    for c in out.values():
        for rule in (c.rule, c.direction or {"at_least": 0}):
            (name, arg), = rule.items()
            if name in ("less_than_claim", "greater_than_claim") and arg not in out:
                raise ClaimSpecError(f"{p}: claim '{c.key}': rule '{name}' refers to claim '{arg}', which is not "
                                     f"declared{_hint(arg, out)}")
        refs = [("significance", c.significance)] * bool(c.significance) + [("requires", r) for r in c.requires]
        for what, ref in refs:
            if ref not in out and not _template_of(ref, out):
                raise ClaimSpecError(f"{p}: claim '{c.key}': {what} refers to claim '{ref}', which is not "
                                     f"declared{_hint(ref, out)}")
            if what == "significance" and (out.get(ref) or _template_of(ref, out)).kind != "test":
                raise ClaimSpecError(f"{p}: claim '{c.key}': significance claim '{ref}' must be declared "
                                     f"'kind: test' (its value is the p-value)")
    spec = MappingProxyType(out)
    _CACHE[p] = (mtime, spec)
    return spec


def _parse(p: Path, chain: str, key: Any, d: Any, notebooks: list[str], params: Mapping) -> ClaimSpec:
    from .claims import RULES
    where = f"{p}: claim '{key}'"
    if not isinstance(d, dict):
        raise ClaimSpecError(f"{where}: expected a mapping of {', '.join(REQUIRED + OPTIONAL)}")
    for_each = d.get("for_each")
    extra: dict[str, Any] = {}
    if for_each is not None:
        skip = for_each.get("except", []) if isinstance(for_each, dict) else []
        rest = {k: v for k, v in for_each.items() if k != "except"} if isinstance(for_each, dict) else None
        if not (rest and len(rest) == 1 and isinstance(skip, list)):
            raise ClaimSpecError(f"{where}: for_each is {{<variable>: <list parameter>, except: [values]}}, "
                                 f"got {for_each!r}")
        (var, param), = rest.items()
        if not isinstance(param, str) or param not in params or not params[param].type.startswith("list["):
            raise ClaimSpecError(f"{where}: for_each needs a list parameter of the chain, got {param!r}"
                                 f"{_hint(str(param), [k for k, v in params.items() if v.type.startswith('list[')])}")
        if not isinstance(key, str) or "{" + var + "}" not in key:
            raise ClaimSpecError(f"{where}: a for_each claim's key must contain {{{var}}}")
        for_each = (var, param, tuple(skip))
        extra = {var: 0}
    bare = key.replace("{" + for_each[0] + "}", "") if for_each else key
    if not isinstance(key, str) or not bare.replace("_", "").isalnum():
        raise ClaimSpecError(f"{p}: claim key must be letters, digits and underscores; got {key!r}")
    for k in d:
        if k not in REQUIRED + OPTIONAL:
            raise ClaimSpecError(f"{where}: unknown field '{k}'{_hint(k, REQUIRED + OPTIONAL)}; "
                                 f"allowed: {', '.join(REQUIRED + OPTIONAL)}")
    missing = [k for k in REQUIRED if k not in d]
    if missing:
        raise ClaimSpecError(f"{where}: missing {', '.join(missing)}")
    for k in ("statement", "source", "notebook"):
        if not isinstance(d[k], str) or not d[k].strip():
            raise ClaimSpecError(f"{where}: '{k}' must be non-empty text, got {d[k]!r}")
    nb = Path(d["notebook"]).stem
    if nb not in notebooks:
        raise ClaimSpecError(f"{where}: notebook '{nb}' is not part of chain '{chain}'{_hint(nb, notebooks)}; "
                             f"notebooks: {', '.join(notebooks)}")
    rule = d["rule"]
    if not isinstance(rule, dict) or len(rule) != 1:
        raise ClaimSpecError(f"{where}: a rule is a mapping with exactly one of {', '.join(RULES)}; got {rule!r}")
    (name, arg), = rule.items()
    if name not in RULES:
        raise ClaimSpecError(f"{where}: unknown rule '{name}'{_hint(name, RULES)}; allowed: {', '.join(RULES)}")
    _check_arg(where, name, arg, params)
    _check_ref(where, "paper", d.get("paper"), params)
    try:
        d["statement"].format(**{k: 0 for k in params}, **extra)
    except (KeyError, IndexError, ValueError) as exc:
        raise ClaimSpecError(f"{where}: statement has a placeholder that is not a parameter: {exc}") from None
    kind = d.get("kind", "claim")
    if kind not in KINDS:
        raise ClaimSpecError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    unit = d.get("unit") or ""
    if not isinstance(unit, str):
        raise ClaimSpecError(f"{where}: unit must be text, got {unit!r}")
    headline = d.get("headline", False)
    if not isinstance(headline, bool):
        raise ClaimSpecError(f"{where}: headline must be true or false, got {headline!r}")
    for k in ("quote", "why", "significance"):
        if k in d and (not isinstance(d[k], str) or not d[k].strip()):
            raise ClaimSpecError(f"{where}: '{k}' must be non-empty text, got {d[k]!r}")
    direction = d.get("direction")
    if direction is not None:
        if not isinstance(direction, dict) or len(direction) != 1:
            raise ClaimSpecError(f"{where}: direction is a rule (a mapping with exactly one of "
                                 f"{', '.join(DIRECTIONAL_RULES)}); got {direction!r}")
        (dname, darg), = direction.items()
        if dname not in DIRECTIONAL_RULES + ("between",):
            raise ClaimSpecError(f"{where}: direction rule '{dname}' is not a directional test"
                                 f"{_hint(dname, DIRECTIONAL_RULES)}; allowed: {', '.join(DIRECTIONAL_RULES)}, between")
        _check_arg(where, dname, darg, params)
        direction = MappingProxyType({dname: darg})
    alpha = d.get("alpha", 0.05)
    if not _is_number(alpha) or not 0 < alpha < 1:
        raise ClaimSpecError(f"{where}: alpha must be a number in (0, 1), got {alpha!r}")
    if "alpha" in d and "significance" not in d:
        raise ClaimSpecError(f"{where}: alpha without significance")
    requires = d.get("requires", [])
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise ClaimSpecError(f"{where}: requires is a list of claim keys, got {requires!r}")
    return ClaimSpec(chain=chain, key=key, notebook=nb, statement=d["statement"], source=d["source"],
                     rule=MappingProxyType({name: arg}), paper=d.get("paper"), unit=unit, kind=kind,
                     headline=headline, for_each=for_each, quote=d.get("quote", "").strip(),
                     why=d.get("why", "").strip(), direction=direction, significance=d.get("significance", ""),
                     alpha=float(alpha), requires=tuple(requires))


def _template_of(ref: str, out: Mapping[str, ClaimSpec]) -> ClaimSpec | None:
    """The ``for_each`` declaration whose key, with its placeholder filled in, can be ``ref``."""
    for c in out.values():
        if c.for_each is not None:
            var = c.for_each[0]
            head, _, tail = c.key.partition("{" + var + "}")
            if ref.startswith(head) and ref.endswith(tail) and len(ref) > len(head) + len(tail):
                return c
            if ref == c.key:
                return c
    return None


def _check_ref(where: str, what: str, x: Any, params: Mapping) -> bool:
    """Check a ``{param: name}`` reference; returns whether ``x`` is one."""
    if isinstance(x, dict):
        if set(x) != {"param"}:
            raise ClaimSpecError(f"{where}: {what} may be a value or {{param: <name>}}, got {x!r}")
        if x["param"] not in params:
            raise ClaimSpecError(f"{where}: {what} refers to unknown parameter '{x['param']}'"
                                 f"{_hint(str(x['param']), list(params))}")
        return True
    return False


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check_arg(where: str, name: str, arg: Any, params: Mapping) -> None:
    what = f"rule '{name}'"
    if name in _NUMERIC:
        if not (_check_ref(where, what, arg, params) or _is_number(arg)):
            raise ClaimSpecError(f"{where}: {what} needs a number or {{param: <name>}}, got {arg!r}")
        if name in ("within_rel", "within_abs") and _is_number(arg) and arg < 0:
            raise ClaimSpecError(f"{where}: {what} needs a tolerance >= 0, got {arg!r}")
    elif name == "between":
        if not (isinstance(arg, list) and len(arg) == 2):
            raise ClaimSpecError(f"{where}: {what} needs [low, high], got {arg!r}")
        for a in arg:
            if not (_check_ref(where, what, a, params) or _is_number(a)):
                raise ClaimSpecError(f"{where}: {what} bounds must be numbers or {{param: <name>}}, got {a!r}")
        if all(_is_number(a) for a in arg) and arg[0] > arg[1]:
            raise ClaimSpecError(f"{where}: {what} has low > high: {arg!r}")
    elif name in ("less_than_claim", "greater_than_claim"):
        if not isinstance(arg, str):
            raise ClaimSpecError(f"{where}: {what} needs the key of another claim, got {arg!r}")
    elif name == "boolean":
        if not isinstance(arg, bool):
            raise ClaimSpecError(f"{where}: {what} needs true or false, got {arg!r}")
    elif name == "not_checkable":
        if not isinstance(arg, str) or not arg.strip():
            raise ClaimSpecError(f"{where}: {what} needs the reason as text, got {arg!r}")


def _hint(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def expanded(chain: str, params: Mapping[str, Any] | None = None) -> dict[str, ClaimSpec]:
    """Every claim ``chain`` must record under ``params`` (default: the smoke profile's), by key;
    ``for_each`` declarations are expanded."""
    if params is None:
        from . import params as params_mod
        params = params_mod.load(chain, "smoke")
    return {c.key: c for decl in load(chain).values() for c in decl.expand(params)}


def for_notebook(chain: str, notebook: str, params: Mapping[str, Any] | None = None) -> list[ClaimSpec]:
    """The claims that notebook ``notebook`` (a stem or file name) of ``chain`` must record."""
    stem = Path(notebook).stem
    return [c for c in expanded(chain, params).values() if c.notebook == stem] if exists(chain) else []


_SIGNIFICANT = ("significan",)


def _numeric_paper(x: Any) -> bool:
    if _is_number(x):
        return True
    return isinstance(x, list) and bool(x) and all(_is_number(v) for v in x)


def audit(chain: str) -> list[str]:
    """What the claims of ``chain`` fail of the judging rules (``[]``: nothing).

    The rules (the page "How the claims are judged" explains them):

    - a claim of the paper (``kind: claim``) quotes the paper (``quote``);
    - a claim whose paper value is a number (or numbers) is judged against it, with a
      tolerance rule (``within_rel``, ``within_abs``, ``between``), never by a sign or order alone;
    - every tolerance says why (``why``);
    - a claim whose statement, source or quote says "significant(ly)" names a significance
      test (``significance``: a ``kind: test`` claim holding the p-value) or is itself a
      p-value rule;
    - a ``kind: test`` claim is named by some claim's ``significance``.

    Parameters
    ----------
    chain : str

    Returns
    -------
    list of str
        One line per problem, naming the claim.
    """
    spec = load(chain)
    problems = []
    named = {c.significance for c in spec.values() if c.significance}
    for c in spec.values():
        where = f"{chain}.{c.key}"
        (name, _), = c.rule.items()
        if name == "not_checkable":
            if c.kind == "claim" and not c.quote:
                problems.append(f"{where}: quote the paper (quote:)")
            continue
        if c.kind == "claim":
            if not c.quote:
                problems.append(f"{where}: quote the paper (quote:)")
            if _numeric_paper(c.paper) and name not in TOLERANCE_RULES:
                problems.append(f"{where}: the paper gives a number ({c.paper}) but the rule '{name}' only tests a "
                                f"direction: judge it with within_rel, within_abs or between and declare the "
                                f"direction as direction:")
            text = " ".join((c.statement, c.source, c.quote)).lower()
            if any(w in text for w in _SIGNIFICANT) and not c.significance and name != "p_below":
                problems.append(f"{where}: the paper says 'significant' but the claim names no significance test")
        if name in TOLERANCE_RULES and not c.why:
            problems.append(f"{where}: the tolerance of rule '{name}' has no reason (why:)")
        if c.kind == "test" and c.key not in named:
            problems.append(f"{where}: kind test, but no claim names it as its significance")
    return problems


def recording_order(chain: str, params: Mapping[str, Any] | None = None) -> list[str]:
    """Claims that a notebook records before a claim of the same notebook they refer to.

    A claim's verdict that names another claim (``significance``, ``requires``, a rule such as
    ``less_than_claim``) is final only
    once that claim is recorded. When both belong to the same notebook, the notebook must record
    the referenced one first; otherwise a fresh execution shows an interim verdict ("judged
    without ... (not recorded yet)") where the record, re-judged at the end of ``repro run``,
    shows the final one — and ``repro verify`` finds the two different.

    The order is read from the notebook's code: the first argument of each ``run.claim(...)``
    call, a string or an f-string whose ``{...}`` parts match any text (the most specific
    pattern wins). A key recorded through a variable cannot be placed and is not checked.

    Returns
    -------
    list of str
        One line per misplaced reference, naming the notebook and both claims (``[]``: none).
    """
    import json
    import re
    spec = expanded(chain, params)
    calls_of: dict[str, list[tuple[int, str]]] = {}

    def calls(notebook: str) -> list[tuple[int, str]]:
        if notebook not in calls_of:
            p = notebooks_root() / chain / f"{notebook}.ipynb"
            cells = json.loads(p.read_text(encoding="utf-8")).get("cells", []) if p.exists() else []
            code = "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
            calls_of[notebook] = [(m.start(), m.group(2)) for m in re.finditer(r"run\.claim\(\s*f?([\"'])(.+?)\1", code)]
        return calls_of[notebook]

    def position(notebook: str, key: str) -> int | None:
        best = None
        for pos, pattern in calls(notebook):
            literal = len(re.sub(r"\{[^}]*\}", "", pattern))
            rx = "".join(".+?" if part.startswith("{") else re.escape(part)
                         for part in re.split(r"(\{[^}]*\})", pattern) if part)
            if re.fullmatch(rx, key) and (best is None or literal > best[0]):
                best = (literal, pos)
        return None if best is None else best[1]

    problems = []
    for key, c in spec.items():
        refs = ([c.significance] if c.significance else []) + list(c.requires) + [
            arg for rule in (c.rule, c.direction or {}) for name, arg in rule.items() if name.endswith("_claim")]
        for ref in refs:
            if ref not in spec or spec[ref].notebook != c.notebook:
                continue
            at_key, at_ref = position(c.notebook, key), position(c.notebook, ref)
            if at_key is not None and at_ref is not None and at_ref > at_key:
                problems.append(f"{chain}/{c.notebook}: {key} is recorded before {ref}, which its verdict names; "
                                f"record {ref} first")
    return problems
