"""Typed parameters of a chain: ``notebooks/<id>/params.yaml`` with ``smoke`` and ``full`` profiles.

The file declares every parameter once::

    parameters:
      seed:
        type: int          # int | float | str | bool | list[int] | list[float] | list[str]
        min: 0             # optional bounds (numbers, and every element of a list)
        doc: Seed of every random generator in the chain.
        value: 7           # the same in both profiles ...
      n_lightcurves:
        type: int
        min: 1
        smoke: 4           # ... or one value per profile
        full: 100

Overrides (``repro run agn -p seed 7`` or a dict from a notebook) are validated against
these declarations before anything runs; a bad one raises :class:`ParameterError` naming
the key and what is allowed.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from .errors import ChainError, ParameterError
from .paths import notebooks_root

PROFILES = ("smoke", "full")
TYPES = ("int", "float", "str", "bool", "list[int]", "list[float]", "list[str]")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter."""

    name: str
    type: str
    doc: str
    values: Mapping[str, Any]
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None

    def describe(self) -> str:
        """Type and bounds in words, e.g. ``int, >= 1, <= 5000``."""
        parts = [self.type]
        if self.choices is not None:
            parts.append("one of " + ", ".join(map(str, self.choices)))
        if self.min is not None:
            parts.append(f">= {self.min}")
        if self.max is not None:
            parts.append(f"<= {self.max}")
        return ", ".join(parts)

    # -- conversion -----------------------------------------------------------------
    def coerce(self, value: Any, chain: str) -> Any:
        """Convert ``value`` (a CLI string or a Python value) to this type and check it."""
        where = f"parameter '{self.name}' of chain '{chain}'"
        if self.type.startswith("list["):
            inner = self.type[5:-1]
            if isinstance(value, str):
                items = [s.strip() for s in value.strip().strip("[]").split(",") if s.strip()]
            elif isinstance(value, (list, tuple)):
                items = list(value)
            else:
                raise ParameterError(f"{where} must be a {self.type} (comma-separated on the command line), got {value!r}")
            out = [self._scalar(v, inner, where) for v in items]
            if not out:
                raise ParameterError(f"{where} must be a non-empty {self.type}")
            for v in out:
                self._check(v, where)
            return out
        v = self._scalar(value, self.type, where)
        self._check(v, where)
        return v

    @staticmethod
    def _scalar(value: Any, typ: str, where: str) -> Any:
        if typ == "str":
            if isinstance(value, str):
                return value
            raise ParameterError(f"{where} must be a str, got {value!r}")
        if typ == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            raise ParameterError(f"{where} must be a bool (true/false), got {value!r}")
        if typ == "int":
            if isinstance(value, bool):
                raise ParameterError(f"{where} must be an int, got {value!r}")
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str):
                try:
                    return int(value.strip())
                except ValueError:
                    pass
            raise ParameterError(f"{where} must be an int, got {value!r}")
        if typ == "float":
            if isinstance(value, bool):
                raise ParameterError(f"{where} must be a float, got {value!r}")
            if isinstance(value, (int, float)):
                out = float(value)
            elif isinstance(value, str):
                try:
                    out = float(value.strip())
                except ValueError:
                    raise ParameterError(f"{where} must be a float, got {value!r}") from None
            else:
                raise ParameterError(f"{where} must be a float, got {value!r}")
            if not math.isfinite(out):
                raise ParameterError(f"{where} must be finite, got {value!r}")
            return out
        raise ParameterError(f"{where}: unknown type {typ!r} in params.yaml (allowed: {', '.join(TYPES)})")

    def _check(self, v: Any, where: str) -> None:
        if self.choices is not None and v not in self.choices:
            raise ParameterError(f"{where} must be one of {', '.join(map(str, self.choices))}; got {v!r}")
        if self.min is not None and v < self.min:
            raise ParameterError(f"{where} must be >= {self.min}; got {v!r}")
        if self.max is not None and v > self.max:
            raise ParameterError(f"{where} must be <= {self.max}; got {v!r}")


@dataclass(frozen=True)
class ChainSpec:
    """The parsed ``params.yaml`` of one chain."""

    chain: str
    title: str
    paper: str
    notebooks: tuple[str, ...]
    data: tuple[str, ...]
    params: Mapping[str, ParamSpec]
    path: Path = field(repr=False)
    reads: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """For each notebook stem, the stems of the earlier notebooks whose results it reads."""
    verify: Mapping[str, str] = field(default_factory=dict)
    """Notebooks whose outputs ``repro verify`` does not compare, with the reason (wall-clock
    measurements)."""
    tolerance: Mapping[str, tuple[float, str]] = field(default_factory=dict)
    """Notebooks whose numbers ``repro verify`` compares within a relative tolerance instead of
    exactly, with the reason (TensorFlow training): stem -> (rtol, reason)."""
    extra_profiles: Mapping[str, "ExtraProfile"] = field(default_factory=dict)
    """The chain's own profiles beside smoke and full (``profiles:`` in params.yaml)."""

    @property
    def profiles(self) -> tuple[str, ...]:
        """Every profile this chain can run: :data:`PROFILES`, then its own."""
        return PROFILES + tuple(self.extra_profiles)


REQUIREMENTS = ("gpu",)
"""What an extra profile may require of the machine (checked by :func:`check_requirements`)."""


@dataclass(frozen=True)
class ExtraProfile:
    """A chain's own profile (e.g. ``gpu``): its parameters are those of ``like`` unless the
    parameter declares a value for it, and it may require something of the machine."""

    name: str
    like: str
    doc: str
    requires: tuple[str, ...] = ()


class Params(Mapping):
    """Resolved, validated parameters of one run: read-only, attribute or key access."""

    def __init__(self, chain: str, profile: str, values: dict[str, Any], overrides: dict[str, Any]):
        self._values = MappingProxyType(dict(values))
        self.chain = chain
        self.profile = profile
        self.overrides = MappingProxyType(dict(overrides))

    def __getitem__(self, key):
        try:
            return self._values[key]
        except KeyError:
            raise ParameterError(_unknown_message(self.chain, key, self._values)) from None

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def as_dict(self) -> dict[str, Any]:
        """The values as a plain dict."""
        return dict(self._values)

    def __repr__(self):
        body = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Params({self.chain}/{self.profile}: {body})"


def unknown_message(chain: str, key: str, allowed) -> str:
    """The message for an unknown parameter name, with a "did you mean" where one is close."""
    return _unknown_message(chain, key, allowed)


def _unknown_message(chain: str, key: str, allowed) -> str:
    allowed = sorted(allowed)
    hint = difflib.get_close_matches(str(key), allowed, n=1)
    extra = f" (did you mean '{hint[0]}'?)" if hint else ""
    return f"unknown parameter '{key}' for chain '{chain}'{extra}; allowed: {', '.join(allowed)}"


def available_chains() -> list[str]:
    """Ids of every chain that has a ``notebooks/<id>/params.yaml``."""
    root = notebooks_root()
    return sorted(p.parent.name for p in root.glob("*/params.yaml"))


def spec(chain: str) -> ChainSpec:
    """Read and check ``notebooks/<chain>/params.yaml``."""
    chains = available_chains()
    if chain not in chains:
        hint = difflib.get_close_matches(str(chain), chains, n=1)
        extra = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise ChainError(f"unknown chain '{chain}'{extra}; available chains: {', '.join(chains) or '(none)'}")
    path = notebooks_root() / chain / "params.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML: {exc}") from None
    declared = raw.get("parameters") or {}
    extra = _extra_profiles(path, raw.get("profiles"))
    specs: dict[str, ParamSpec] = {}
    for name, d in declared.items():
        if not isinstance(d, dict) or "type" not in d:
            raise ParameterError(f"{path}: parameter '{name}' needs a mapping with at least 'type'")
        if d["type"] not in TYPES:
            raise ParameterError(f"{path}: parameter '{name}' has unknown type {d['type']!r}; allowed: {', '.join(TYPES)}")
        if "value" in d:
            values = {p: d["value"] for p in PROFILES}
        else:
            missing = [p for p in PROFILES if p not in d]
            if missing:
                raise ParameterError(f"{path}: parameter '{name}' has no value for profile(s) {', '.join(missing)}")
            values = {p: d[p] for p in PROFILES}
        for name_x, xp in extra.items():
            values[name_x] = d.get(name_x, values[xp.like])
        unknown = [k for k in d if k not in _PARAM_KEYS and k not in extra]
        if unknown:
            raise ParameterError(f"{path}: parameter '{name}' has unknown key(s) {', '.join(map(str, unknown))}; "
                                 f"allowed: {', '.join(_PARAM_KEYS + tuple(extra))}")
        ps = ParamSpec(
            name=name,
            type=d["type"],
            doc=str(d.get("doc", "")).strip(),
            values=MappingProxyType(values),
            min=d.get("min"),
            max=d.get("max"),
            choices=tuple(d["choices"]) if "choices" in d else None,
        )
        for p in values:  # the file's own defaults must pass their own checks
            ps.coerce(values[p], chain)
        specs[name] = ps
    notebooks = tuple(raw.get("notebooks") or sorted(p.name for p in path.parent.glob("[0-9][0-9]_*.ipynb")))
    not_compared, tolerance = _verify(path, notebooks, raw.get("verify"))
    return ChainSpec(
        chain=chain,
        title=str(raw.get("title", chain)),
        paper=str(raw.get("paper", "")),
        notebooks=notebooks,
        reads=_reads(path, notebooks, raw.get("reads")),
        verify=not_compared,
        tolerance=tolerance,
        extra_profiles=MappingProxyType(extra),
        data=tuple(raw.get("data") or ()),
        params=MappingProxyType(specs),
        path=path,
    )


_PARAM_KEYS = ("type", "doc", "value", "min", "max", "choices") + PROFILES


def _extra_profiles(path: Path, declared: Any) -> dict[str, ExtraProfile]:
    """The ``profiles:`` mapping of params.yaml: ``{name: {like: smoke|full, doc: text, requires: [gpu]}}``."""
    if not declared:
        return {}
    if not isinstance(declared, dict):
        raise ParameterError(f"{path}: 'profiles' must map a profile name to {{like, doc, requires}}")
    out = {}
    for name, d in declared.items():
        name = str(name)
        if name in PROFILES or not name.isidentifier():
            raise ParameterError(f"{path}: profile name '{name}' is taken or not a plain name")
        if not isinstance(d, dict) or d.get("like") not in PROFILES or not str(d.get("doc", "")).strip():
            raise ParameterError(f"{path}: profile '{name}' needs 'like' (one of {', '.join(PROFILES)}) and 'doc'")
        req = d.get("requires") or []
        req = [req] if isinstance(req, str) else list(req)
        bad = [r for r in req if r not in REQUIREMENTS]
        if bad or set(d) - {"like", "doc", "requires"}:
            raise ParameterError(f"{path}: profile '{name}': unknown requirement or key "
                                 f"({', '.join(map(str, bad or sorted(set(d) - {'like', 'doc', 'requires'})))}); "
                                 f"requirements: {', '.join(REQUIREMENTS)}")
        out[name] = ExtraProfile(name, d["like"], " ".join(str(d["doc"]).split()), tuple(req))
    return out


def _reads(path: Path, notebooks: tuple[str, ...], declared: Any) -> Mapping[str, tuple[str, ...]]:
    """The ``reads:`` mapping of params.yaml, completed: an undeclared notebook reads every earlier one."""
    stems = [Path(n).stem for n in notebooks]
    declared = declared or {}
    if not isinstance(declared, dict):
        raise ParameterError(f"{path}: 'reads' must map a notebook to the earlier notebooks it reads")
    out: dict[str, tuple[str, ...]] = {}
    for i, nb in enumerate(stems):
        out[nb] = tuple(stems[:i])
    for nb, ups in declared.items():
        nb = Path(str(nb)).stem
        if nb not in stems:
            hint = difflib.get_close_matches(nb, stems, n=1)
            raise ParameterError(f"{path}: 'reads' names notebook '{nb}', which is not in the chain"
                                 + (f" (did you mean '{hint[0]}'?)" if hint else ""))
        ups = [Path(str(u)).stem for u in (ups or [])]
        earlier = stems[:stems.index(nb)]
        bad = [u for u in ups if u not in earlier]
        if bad:
            raise ParameterError(f"{path}: 'reads' of {nb}: {', '.join(bad)} is not an earlier notebook of the chain "
                                 f"(earlier: {', '.join(earlier) or 'none'})")
        out[nb] = tuple(u for u in earlier if u in ups)
    return MappingProxyType(out)


def _verify(path: Path, notebooks: tuple[str, ...], declared: Any
            ) -> tuple[Mapping[str, str], Mapping[str, tuple[float, str]]]:
    """The ``verify:`` mapping of params.yaml, split in two.

    A notebook maps either to a text (why its outputs are not compared at all) or to
    ``{rtol: <relative tolerance>, reason: <text>}`` (its numbers are compared within ``rtol``,
    everything else exactly). Returns (not compared: stem -> reason, within a tolerance:
    stem -> (rtol, reason)).
    """
    stems = [Path(n).stem for n in notebooks]
    if not declared:
        return MappingProxyType({}), MappingProxyType({})
    if not isinstance(declared, dict):
        raise ParameterError(f"{path}: 'verify' must map a notebook to the reason its outputs are not compared, "
                             "or to {rtol: <tolerance>, reason: <text>}")
    skip, tol = {}, {}
    for nb, why in declared.items():
        nb = Path(str(nb)).stem
        if nb not in stems:
            raise ParameterError(f"{path}: 'verify' names notebook '{nb}', which is not in the chain")
        if isinstance(why, dict):
            extra = set(why) - {"rtol", "reason"}
            rtol, reason = why.get("rtol"), why.get("reason")
            if extra or isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or not 0 < rtol < 1:
                raise ParameterError(f"{path}: 'verify' of {nb} must be {{rtol: <number in (0, 1)>, reason: <text>}}"
                                     + (f"; unknown key(s) {', '.join(sorted(map(str, extra)))}" if extra else
                                        f"; rtol is {rtol!r}"))
            if not isinstance(reason, str) or not reason.strip():
                raise ParameterError(f"{path}: 'verify' of {nb} needs the reason as text")
            tol[nb] = (float(rtol), reason.strip())
            continue
        if not isinstance(why, str) or not why.strip():
            raise ParameterError(f"{path}: 'verify' of {nb} needs the reason as text")
        skip[nb] = why.strip()
    return MappingProxyType(skip), MappingProxyType(tol)


def upstream(cs: ChainSpec, notebook: str) -> set[str]:
    """Stems of every notebook whose results ``notebook`` may read, directly or through another."""
    todo, seen = list(cs.reads.get(Path(notebook).stem, ())), set()
    while todo:
        nb = todo.pop()
        if nb not in seen:
            seen.add(nb)
            todo.extend(cs.reads.get(nb, ()))
    return seen


def check_profile(profile: str, chain: str | None = None) -> str:
    """Return ``profile`` if it is one of :data:`PROFILES` (or of ``chain``'s own profiles);
    raises :class:`ParameterError` otherwise."""
    allowed = spec(chain).profiles if chain is not None else PROFILES
    if profile not in allowed:
        where = f" for chain '{chain}'" if chain is not None else ""
        raise ParameterError(f"unknown profile '{profile}'{where}; allowed: {', '.join(allowed)}")
    return profile


def gpu_devices() -> list:
    """The GPUs TensorFlow sees (imports TensorFlow)."""
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    return list(tf.config.list_physical_devices("GPU"))


def check_requirements(chain: str, profile: str) -> None:
    """Raise :class:`~repro.errors.ChainError` when ``profile`` of ``chain`` needs what this machine lacks.

    Today the one requirement is ``gpu``: TensorFlow must see at least one GPU.
    """
    xp = spec(chain).extra_profiles.get(profile)
    if xp is not None and "gpu" in xp.requires and not gpu_devices():
        raise ChainError(f"chain '{chain}': profile '{profile}' needs a GPU ({xp.doc}), and TensorFlow sees none "
                         f"on this machine; run the 'full' profile on CPUs instead")


def validate_overrides(chain: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check and convert overrides; raises :class:`ParameterError` on the first bad one."""
    cs = spec(chain)
    out: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if key not in cs.params:
            raise ParameterError(_unknown_message(chain, key, cs.params))
        out[key] = cs.params[key].coerce(value, chain)
    return out


def load(chain: str, profile: str = "smoke", overrides: Mapping[str, Any] | None = None) -> Params:
    """The parameters of ``chain`` in ``profile`` with ``overrides`` applied.

    Parameters
    ----------
    chain : str
        Chain id, e.g. ``"agn"``.
    profile : {"smoke", "full"}
    overrides : mapping, optional
        ``{name: value}``; values may be strings (as from the command line).

    Raises
    ------
    ChainError
        Unknown chain.
    ParameterError
        Unknown profile, unknown key, wrong type or value out of range.
    """
    check_profile(profile, chain)
    cs = spec(chain)
    checked = validate_overrides(chain, overrides)
    values = {name: ps.coerce(ps.values[profile], chain) for name, ps in cs.params.items()}
    values.update(checked)
    return Params(chain, profile, values, checked)


def describe(chain: str) -> str:
    """A plain-text table of a chain's parameters (for ``repro params <id>``)."""
    cs = spec(chain)
    lines = [f"{chain}: {cs.title} ({cs.paper})", ""]
    for xp in cs.extra_profiles.values():
        need = f"; needs {', '.join(xp.requires)}" if xp.requires else ""
        lines += [f"profile {xp.name} (as {xp.like}, except where shown{need}): {xp.doc}", ""]
    for ps in cs.params.values():
        own = "".join(f" {x}={ps.values[x]!r}" for x in cs.extra_profiles if ps.values[x] != ps.values[cs.extra_profiles[x].like])
        lines.append(f"  {ps.name:<22} {ps.describe():<28} smoke={ps.values['smoke']!r} full={ps.values['full']!r}{own}")
        if ps.doc:
            lines.append(f"  {'':<22} {ps.doc}")
    return "\n".join(lines)
