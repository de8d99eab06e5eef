"""Seed sweeps and variants side by side: does a verdict hold when only the seed changes?

``python -m repro run <id> --sweep seed=0..4 --jobs 2`` runs one variant per value
(``results/<id>/<profile>@seed=0/`` ...), each in its own process, ``jobs`` at a time with
``cores // jobs`` threads each, and prints one line per variant. ``python -m repro claims --chain
<id> --sweep`` then reports, for every claim, in how many variants it reproduced and the spread
of its value; ``--compare`` shows the record and every variant side by side.

Example
-------
>>> parse_sweep("seed=0..2")
('seed', ['0', '1', '2'])
>>> parse_sweep("lr=0.1,0.2")
('lr', ['0.1', '0.2'])
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Mapping

from . import claims as claims_mod, params as params_mod
from .errors import ParameterError
from .paths import results_root, variant_name

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
               "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def parse_sweep(spec: str) -> tuple[str, list[str]]:
    """``key=a..b`` (integers, both ends included) or ``key=v1,v2,...``.

    Raises
    ------
    ParameterError
        The spec has no ``=``, or a range whose ends are not integers or are reversed.
    """
    if "=" not in spec:
        raise ParameterError(f"a sweep is key=a..b or key=v1,v2; got {spec!r}")
    key, values = spec.split("=", 1)
    if ".." in values:
        lo, hi = values.split("..", 1)
        try:
            lo_i, hi_i = int(lo), int(hi)
        except ValueError:
            raise ParameterError(f"sweep range {values!r} needs integer ends") from None
        if hi_i < lo_i:
            raise ParameterError(f"sweep range {values!r} is empty")
        return key.strip(), [str(v) for v in range(lo_i, hi_i + 1)]
    vals = [v.strip() for v in values.split(",") if v.strip()]
    if not vals:
        raise ParameterError(f"sweep {spec!r} has no values")
    return key.strip(), vals


def run_sweep(chain: str, profile: str, key: str, values: list[str], overrides: Mapping[str, str] | None = None,
              jobs: int = 1, log: Callable[[str], None] = print) -> list[tuple[str, int]]:
    """Run one variant per value of ``key``, ``jobs`` at a time, each in its own process.

    Returns
    -------
    list of (variant folder name, exit status)
    """
    overrides = dict(overrides or {})
    for v in values:  # every variant's parameters are checked before anything runs
        params_mod.load(chain, profile, {**overrides, key: v})
    cores = os.cpu_count() or 1
    jobs = max(1, min(int(jobs), len(values)))
    threads = max(1, cores // jobs)
    has_threads = "threads" in params_mod.spec(chain).params and "threads" not in overrides and key != "threads"
    logs = results_root() / chain / f".log-sweep-{profile}"
    logs.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def one(v: str) -> tuple[str, int]:
        ov = {**overrides, key: v}
        name = variant_name(ov)
        cmd = [sys.executable, "-m", "repro", "run", chain, "--profile", profile, "--name", name]
        for k, val in {**ov, **({"threads": str(threads)} if has_threads else {})}.items():
            cmd += ["-p", k, str(val)]
        env = {**os.environ, **{k: str(threads) for k in THREAD_VARS}}
        log(f"[sweep {chain}] {profile}@{name:<24} started ({threads} thread{'s' if threads > 1 else ''})")
        with open(logs / f"{name}.txt", "w") as fh:
            rc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env).returncode
        state = "done" if rc == 0 else f"FAILED (exit {rc}; see {logs / (name + '.txt')})"
        log(f"[sweep {chain}] {profile}@{name:<24} {state} at {time.perf_counter() - t0:.0f} s")
        return f"{profile}@{name}", rc

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, values))


def variant_stores(chain: str, profile: str, key: str | None = None) -> dict[str, dict]:
    """``{folder name: claims}`` of the variants of ``chain`` in ``profile`` (those that sweep ``key``)."""
    out = {}
    for p in sorted((results_root() / chain).glob(f"{profile}@*/{claims_mod.FILENAME}")):
        name = p.parent.name
        if name.endswith("@interactive"):
            continue
        if key and not any(part.startswith(f"{key}=") for part in name.split("@", 1)[1].split(",")):
            continue
        out[name] = claims_mod.load_store(p)
    return out


def verdict_counts(verdicts: dict[str, int]) -> str:
    """``{verdict: count}`` as text, strongest verdict first: ``"3 reproduced, 2 not reproduced"``."""
    order = {v: i for i, v in enumerate(claims_mod.VERDICTS)}
    return ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items(), key=lambda kv: order.get(kv[0], 99)))


def stability(chain: str, profile: str = "full", key: str = "seed") -> list[dict]:
    """Per claim, across the variants that sweep ``key``: verdict counts and min / median / max of ours.

    Returns
    -------
    list of dict
        ``key``, ``statement``, ``n`` (variants), ``reproduced`` (how many), ``verdicts``
        (``{verdict: count}``), ``min``, ``median``, ``max`` (``None`` for non-numeric values),
        ``summary`` (e.g. ``"reproduced in 5 of 5"``, ``"direction only in 5 of 5"``,
        ``"3 reproduced, 2 not reproduced"`` when it flips).
    """
    stores = variant_stores(chain, profile, key)
    keys: list[str] = []
    for s in stores.values():
        keys += [k for k in s if k not in keys]
    rows = []
    for k in keys:
        got = [s[k] for s in stores.values() if k in s]
        verdicts: dict[str, int] = {}
        for c in got:
            verdicts[c["verdict"]] = verdicts.get(c["verdict"], 0) + 1
        nums = [float(c["ours"]) for c in got if isinstance(c.get("ours"), (int, float))
                and not isinstance(c.get("ours"), bool)]
        n_rep = verdicts.get(claims_mod.REPRODUCED, 0)
        if len(verdicts) == 1:                      # the same verdict everywhere: say which
            summary = f"{next(iter(verdicts))} in {len(got)} of {len(got)}"
        else:                                       # it flips: every verdict with its count, strongest first
            summary = verdict_counts(verdicts)
        rows.append({"key": k, "statement": got[0]["statement"], "n": len(got), "reproduced": n_rep,
                     "verdicts": verdicts, "min": min(nums) if nums else None,
                     "median": statistics.median(nums) if nums else None, "max": max(nums) if nums else None,
                     "summary": summary})
    return rows


def stability_table(rows: list[dict], key: str = "seed") -> str:
    """:func:`stability` as a terminal table."""
    if not rows:
        return f"no variants that sweep {key}: run one with python -m repro run <id> --sweep {key}=0..4"
    fv = claims_mod.format_value
    lines = [f"{'claim':<30} {'verdict across ' + key + 's':<40} {'min':>10} {'median':>10} {'max':>10}"]
    for r in rows:
        flag = "" if len(r["verdicts"]) == 1 else "  <- flips with the " + key
        lines.append(f"{r['key'][:30]:<30} {r['summary']:<40} {fv(r['min']):>10} {fv(r['median']):>10} "
                     f"{fv(r['max']):>10}{flag}")
    return "\n".join(lines)


def compare_table(chain: str, profile: str = "full") -> str:
    """The record and every variant of ``chain`` side by side; ``*`` marks a verdict that differs
    from the record's."""
    record = claims_mod.load_store(results_root() / chain / profile / claims_mod.FILENAME)
    variants = variant_stores(chain, profile)
    if not variants:
        return f"no variants of {chain}/{profile} yet: run python -m repro run {chain} --profile {profile} -p KEY VALUE"
    cols = [("record", record)] + [(n.split("@", 1)[1], s) for n, s in variants.items()]
    keys: list[str] = list(record)
    for _, s in cols:
        keys += [k for k in s if k not in keys]
    fv = claims_mod.format_value
    short = {claims_mod.REPRODUCED: "yes", claims_mod.NOT_REPRODUCED: "no", claims_mod.NOT_CHECKABLE: "n/c",
             claims_mod.DIRECTION_ONLY: "dir", claims_mod.INCONCLUSIVE: "inc"}
    head = f"{'claim':<28}" + "".join(f" {name[:18]:>18}" for name, _ in cols)
    lines = [head]
    for k in keys:
        base = record.get(k, {}).get("verdict")
        cells = []
        for _, s in cols:
            c = s.get(k)
            if c is None:
                cells.append(f" {'—':>18}")
                continue
            mark = "*" if base is not None and c["verdict"] != base else " "
            cells.append(f" {fv(c['ours'])[:11] + ' ' + short.get(c['verdict'], c['verdict'][:3]) + mark:>18}")
        lines.append(f"{k[:28]:<28}" + "".join(cells))
    lines.append("(yes/no: reproduced or not; dir: direction only; inc: inconclusive; n/c: not checkable here; "
                 "* the verdict differs from the record's)")
    return "\n".join(lines)


def paths_of(chain: str, profile: str) -> list[Path]:
    """Folders of the variants of ``chain`` in ``profile``."""
    return sorted(p for p in (results_root() / chain).glob(f"{profile}@*") if p.is_dir())
