"""Does the code still make the record? ``python -m repro verify <id>`` (``make verify CHAIN=<id>``).

The executed notebooks of a chain's record are re-executed, in the chain's order, under strict
nbval: every cell's outputs (text, tables, claims; not images, whose numbers are in the tables)
are compared with the committed ones. The re-execution writes its results into a scratch folder
``results/<id>/.verify-<profile>-<pid>/``, never into the record, and the scratch folder is
removed afterwards. An interrupted verification (Ctrl-C, SIGTERM) stops its kernels, removes the
scratch folder and writes nothing beside the record.

What must legitimately differ between two executions — wall-clock times, absolute paths of the
machine — is normalised by the patterns of ``tests/nbval_sanitize.cfg`` (each with its reason);
a claim cell is never sanitized. Notebooks whose numbers cannot be equal from run to run (a
TensorFlow training, a wall-clock measurement) are declared in the chain's ``params.yaml``
under ``verify: {<notebook>: <reason>}``: they are re-executed (later notebooks read their
results) but their outputs are not compared, and the report says why.

Where exact equality cannot hold but the numbers must still agree — a TensorFlow training,
whose oneDNN kernels may sum in another order on another CPU — a notebook is declared with a
tolerance, ``verify: {<notebook>: {rtol: 0.02, reason: <text>}}``. It is re-executed with
nbclient and compared cell by cell by :func:`compare_text`: the sanitized text outputs must be
equal once their numbers are taken out, and each number must agree within ``rtol`` (relative)
or within one unit of the last decimal the notebook printed, whichever is larger (a count
printed as an integer gets the relative tolerance only). So a verdict
word, a table's shape or a count of a different kind still has to be identical.

Every verification of a record is written beside it, ``results/<id>/<profile>/verification.json``
(UTC time, the commit of the code that re-executed it, the machine, one entry per notebook),
and the chain's pages in the book say when the record was last verified and with what result.

Example
-------
>>> summary_line([NotebookResult("01_data", 5, 5, [], "")])
'verified 1 notebook(s): 5 of 5 compared cells equal'
>>> compare_text("loss 0.4131 after 12 epochs", "loss 0.4150 after 12 epochs", rtol=0.01) is None
True
>>> compare_text("loss 0.4131 (reproduced)", "loss 0.4131 (not reproduced)", rtol=0.01)
"text differs: 'loss # (reproduced)' against 'loss # (not reproduced)' (# stands for a number)"
"""
from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from . import params as params_mod
from .errors import ChainError
from .paths import results_root

SANITIZE = "tests/nbval_sanitize.cfg"
CI_CHAINS = ("agn", "databright", "adpsgd", "dcd")
"""The chains whose records CI re-executes on every change (full profile under about 6 minutes on
2 cores; ``.ci/run`` runs ``make verify-ci``); the others are verified on demand."""
FILENAME = "verification.json"
"""The result of the last verification, beside the record."""


@dataclass
class NotebookResult:
    """The outcome of re-executing one notebook of a record."""

    notebook: str
    compared: int
    equal: int
    differ: list[str] = field(default_factory=list)   # "Cell 7: <first lines of the difference>"
    not_compared: str = ""                             # the reason, for a notebook declared under verify:
    rtol: float = 0.0                                  # numbers compared within this relative tolerance

    def line(self) -> str:
        """One line for the terminal."""
        if self.not_compared:
            return f"{self.notebook:<28} re-executed, outputs not compared: {self.not_compared}"
        state = "ok" if not self.differ else f"{max(self.compared - self.equal, 1)} DIFFER"
        within = f" (numbers within {self.rtol:.3g} relative)" if self.rtol else ""
        out = f"{self.notebook:<28} {self.compared:>3} cells compared, {self.equal:>3} equal{within}  {state}"
        return out + "".join(f"\n    {d}" for d in self.differ)


def summary_line(results: list[NotebookResult]) -> str:
    """The final line of a verification."""
    compared = sum(r.compared for r in results if not r.not_compared)
    equal = sum(r.equal for r in results if not r.not_compared)
    skipped = [r.notebook for r in results if r.not_compared]
    return (f"verified {len(results)} notebook(s): {equal} of {compared} compared cells equal"
            + (f"; not compared: {', '.join(skipped)}" if skipped else ""))


def _junit(path: Path) -> tuple[int, int, list[str]]:
    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))
    differ = []
    for case in cases:
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            text = re.sub(r"(\x1b|#x1B)\[[0-9;]*m", "", (bad.get("message") or "") + "\n" + (bad.text or ""))
            lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("self.")]
            differ.append(f"{case.get('name')}: " + " | ".join(lines[:4])[:400])
    return len(cases), len(cases) - len(differ), differ


_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_SPACE = re.compile(r"\s+")


def _printed_unit(token: str) -> float:
    """One unit in the last digit of a printed decimal: '0.172' -> 0.001, '3.34e-04' -> 1e-06.

    An integer ('12') gets 0: it is a count, compared within the relative tolerance only.
    """
    mantissa, _, exponent = token.lower().partition("e")
    if "." not in mantissa and not exponent:
        return 0.0
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10.0 ** (int(exponent or 0) - decimals)


def compare_text(ref: str, new: str, rtol: float) -> str | None:
    """Compare two output texts with their numbers within ``rtol``; None when they agree.

    The texts must be equal once every number is taken out (runs of white space count as one
    space, since a table re-aligns when a number gets longer); each pair of numbers must agree
    within ``rtol`` of the larger one, or within one unit of the last printed decimal (integers:
    ``rtol`` only).

    Parameters
    ----------
    ref, new : str
        The committed output and the re-executed one (both sanitized).
    rtol : float
        Relative tolerance for the numbers.

    Returns
    -------
    str or None
        The first difference, in words.
    """
    ra, na = _NUMBER.split(ref), _NUMBER.findall(ref)
    rb, nb = _NUMBER.split(new), _NUMBER.findall(new)
    sa = [_SPACE.sub(" ", t) for t in ra]
    sb = [_SPACE.sub(" ", t) for t in rb]
    if sa != sb:
        # where the texts part, numbers masked, with some context: a verdict's word, not an SVG path
        ma, mb = "#".join(sa), "#".join(sb)
        i = next((k for k, (u, v) in enumerate(zip(ma, mb)) if u != v), min(len(ma), len(mb)))
        ctx = lambda t: t[max(0, i - 40):i + 60].strip()   # noqa: E731
        return f"text differs: {ctx(ma)!r} against {ctx(mb)!r} (# stands for a number)"
    # equal masked texts hold equally many numbers
    for x, y in zip(na, nb):
        if x == y:
            continue
        fx, fy = float(x), float(y)
        allowed = max(rtol * max(abs(fx), abs(fy)), max(_printed_unit(x), _printed_unit(y)))
        if not abs(fx - fy) <= allowed * (1 + 1e-9):   # 0.335 - 0.334 is a hair above 0.001 in binary
            return f"{x} against {y} (allowed ±{allowed:.3g})"
    return None


def _output_texts(cell: dict, sanitize: list[tuple[str, str]]) -> list[str]:
    """The comparable texts of one code cell's outputs (images excluded), sanitized.

    Each stream (stdout, stderr) is compared as one text, as a terminal shows it: all its pieces
    joined, and of each line only what follows its last ``\\r`` (a progress bar's last state), by
    the rule that ``repro run`` applied to the record (:func:`repro.chains.last_states`).
    Where a piece of stderr falls between two of stdout is thread timing (the kernel sends each
    stream when it flushes), and a fresh execution sends a piece per progress-bar update where
    the record holds them merged; so the streams come first, by name, then the other outputs in
    their order.
    """
    streams: dict[str, str] = {}
    others = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            name = o.get("name", "stdout")
            streams[name] = streams.get(name, "") + "".join(o.get("text", ""))
        else:
            others.append(o)
    from .chains import last_states   # the rule `repro run` applied to the record's streams
    texts = [f"[{name}] " + last_states(streams[name]) for name in sorted(streams)]
    for o in others:
        if o.get("output_type") == "error":
            texts.append(f"[error] {o.get('ename')}: {o.get('evalue')}")
            continue
        data = o.get("data", {})
        mime = next((m for m in ("text/html", "text/markdown", "text/plain") if m in data), None)
        if mime is not None:   # else an image: its numbers are compared through the cells that print them
            texts.append(f"[{mime}] " + "".join(data[mime]))
    out = []
    for text in texts:
        for regex, replace in sanitize:
            text = re.sub(regex, replace, text)
        out.append(text)
    return out


def compare_notebooks(ref: dict, new: dict, rtol: float, sanitize: list[tuple[str, str]]
                      ) -> tuple[int, list[str]]:
    """Compare two executions of one notebook cell by cell (see :func:`compare_text`).

    Returns
    -------
    (int, list of str)
        Cells compared (code cells with an output in the record) and one line per cell that differs.
    """
    rc = [c for c in ref.get("cells", []) if c.get("cell_type") == "code"]
    nc = [c for c in new.get("cells", []) if c.get("cell_type") == "code"]
    if len(rc) != len(nc):
        return 1, [f"{len(rc)} code cells in the record, {len(nc)} re-executed"]
    compared, differ = 0, []
    for i, (a, b) in enumerate(zip(rc, nc)):
        ta, tb = _output_texts(a, sanitize), _output_texts(b, sanitize)
        if not ta and not tb:
            continue
        compared += 1
        if len(ta) != len(tb):
            differ.append(f"Code cell {i}: {len(ta)} outputs in the record, {len(tb)} re-executed")
            continue
        for x, y in zip(ta, tb):
            why = compare_text(x, y, rtol)
            if why:
                differ.append(f"Code cell {i}: {why}"[:400])
                break
    return compared, differ


def _sanitize_patterns(path: Path) -> list[tuple[str, str]]:
    from nbval.plugin import get_sanitize_patterns   # nbval's own parser of the file
    return list(get_sanitize_patterns(path.read_text(encoding="utf-8")))


def _verify_within(nb: Path, copy: Path, rtol: float, sanitize: Path, env: dict, timeout: int, cwd: Path,
                   scratch: Path) -> NotebookResult:
    """Re-execute one notebook with nbclient and compare its numbers within ``rtol``."""
    import json
    out = scratch / f"{nb.stem}.within.ipynb"
    script = ("import sys, nbformat, nbclient\n"
              "nb = nbformat.read(sys.argv[1], as_version=4)\n"
              "client = nbclient.NotebookClient(nb, timeout=int(sys.argv[3]), kernel_name='python3',\n"
              "                                 resources={'metadata': {'path': sys.argv[4]}})\n"
              "try:\n"
              "    client.execute()\n"
              "finally:\n"
              "    nbformat.write(nb, sys.argv[2])\n")
    proc = subprocess.run([sys.executable, "-c", script, str(copy), str(out), str(timeout), str(cwd)],
                          cwd=cwd, env=env, capture_output=True, text=True)
    if not out.exists():
        raise ChainError(f"could not re-execute {nb.name}: {(proc.stdout + proc.stderr).strip().splitlines()[-1:]}")
    ref = json.loads(nb.read_text(encoding="utf-8"))
    new = json.loads(out.read_text(encoding="utf-8"))
    compared, differ = compare_notebooks(ref, new, rtol, _sanitize_patterns(sanitize))
    if proc.returncode and not differ:
        differ = [f"the re-execution stopped: {(proc.stderr.strip().splitlines() or ['?'])[-1][:300]}"]
    equal = compared - len({d.split(':')[0] for d in differ})
    if differ:   # keep the evidence: the scratch folder goes, this copy stays (ignored by git)
        kept = differences_dir(nb.parent) / nb.name
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(out, kept)
        differ.append(f"(the re-executed notebook is kept: {kept})")
    return NotebookResult(nb.stem, compared, max(equal, 0), differ, "", rtol)


def differences_dir(record: Path) -> Path:
    """Where a verification keeps the re-executed notebooks that differ from the record
    (``results/<id>/.verify-<profile>-differences/``, ignored by git; emptied by the next verification)."""
    return record.parent / f".verify-{record.name}-differences"


def verify(chain: str, profile: str = "full", record: Path | None = None, timeout: int = 7200,
           log=print) -> list[NotebookResult]:
    """Re-execute the record of ``chain`` under strict nbval; see the module docstring.

    Parameters
    ----------
    chain : str
        A chain id.
    profile : str
        Whose record (default ``full``).
    record : Path, optional
        The record folder (default ``results/<id>/<profile>``).
    timeout : int
        Seconds one cell may run.
    log : callable
        Receives one line per notebook as it finishes.

    Returns
    -------
    list of NotebookResult
        In chain order.

    Raises
    ------
    ChainError
        There is no record, or an executed notebook of it is missing.
    """
    from .chains import _kill_children, _terminate_as_interrupt, notebooks_of
    cs = params_mod.spec(chain)
    record = Path(record) if record else results_root() / chain / profile
    nbs = [record / nb.name for nb in notebooks_of(chain)]
    missing = [p.name for p in nbs if not p.exists()]
    if missing:
        raise ChainError(f"chain '{chain}': no record to verify in {record} (missing {', '.join(missing)}); "
                         f"make one with python -m repro run {chain} --profile {profile}")
    scratch = record.parent / f".verify-{record.name}-{os.getpid()}"
    shutil.rmtree(differences_dir(record), ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "run").mkdir(parents=True)
    sanitize = Path(__file__).resolve().parent.parent / SANITIZE   # the checkout's own patterns
    # nbval's kernels load repro.nbquiet (a trailing ';' silences, as in the record), and they
    # capture what C++ code writes to file descriptor 2 (TensorFlow's log lines), as `repro run`'s
    # kernels do: ipykernel stops that capture when it inherits pytest's PYTEST_CURRENT_TEST.
    ipydir = scratch / "ipython"
    (ipydir / "profile_default").mkdir(parents=True)
    (ipydir / "profile_default" / "ipython_kernel_config.py").write_text(
        'import os\nos.environ.pop("PYTEST_CURRENT_TEST", None)\n'
        'c.InteractiveShellApp.extensions = ["repro.nbquiet"]\n', encoding="utf-8")
    env = {**os.environ, "REPRO_RUN_DIR": str(scratch / "run"), "REPRO_PROFILE": profile,
           "MPLBACKEND": "module://matplotlib_inline.backend_inline", "IPYTHONDIR": str(ipydir)}
    remark = processor_remark(record, cs)
    if remark:
        log(remark)
    results = []
    try:
        with _terminate_as_interrupt():
            for nb in nbs:
                copy = scratch / nb.name
                shutil.copy2(nb, copy)
                if nb.stem in cs.tolerance:
                    res = _verify_within(nb, copy, cs.tolerance[nb.stem][0], sanitize, env, timeout,
                                         cwd=notebooks_of(chain)[0].parent, scratch=scratch)
                    results.append(res)
                    log(res.line())
                    continue
                reason = cs.verify.get(nb.stem, "")
                junit = scratch / f"{nb.stem}.xml"
                mode = ["--nbval-lax"] if reason else ["--nbval", "--nbval-sanitize-with", str(sanitize)]
                cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *mode, "--nbval-current-env",
                       "--nbval-cell-timeout", str(timeout), f"--junitxml={junit}", "--rootdir", str(scratch),
                       str(copy)]
                proc = subprocess.run(cmd, cwd=notebooks_of(chain)[0].parent, env=env, capture_output=True, text=True)
                if not junit.exists():
                    raise ChainError(f"chain '{chain}': nbval could not run {nb.name}: "
                                     f"{(proc.stdout + proc.stderr).strip().splitlines()[-1:]}")
                compared, equal, differ = _junit(junit)
                res = NotebookResult(nb.stem, compared, equal, differ, reason)
                if reason and differ:  # a declared notebook must still run without an error
                    res = NotebookResult(nb.stem, compared, equal, differ, "")
                results.append(res)
                log(res.line())
    except KeyboardInterrupt:
        _kill_children()
        raise ChainError(f"chain '{chain}': verification interrupted; its kernels are stopped, the scratch "
                         f"folder is removed and nothing was written beside the record") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    save(record, results)
    return results


def processor_remark(record: Path, cs) -> str:
    """A warning line when a record with tolerance notebooks was made on another processor than this one.

    TensorFlow's training is deterministic on one processor, not across processor families (AMD EPYC
    against Intel Xeon: the mergers and psfgan trainings part by more than 5 %), so a difference found
    there may be the machine's, not the code's. ``""`` when the processors agree, the record names none,
    or the chain compares every notebook exactly.
    """
    from . import provenance
    from .io import read_json
    if not cs.tolerance:
        return ""
    try:
        made_on = (read_json(Path(record) / "provenance.json").get("machine") or {}).get("cpu")
    except (OSError, ValueError):
        return ""
    here = provenance.machine().get("cpu")
    if not made_on or not here or made_on == here:
        return ""
    return (f"note: this record was made on {made_on}, this machine is {here}; TensorFlow's training is "
            f"deterministic on one processor, not across processor families, so the notebooks compared "
            f"within a tolerance ({', '.join(sorted(cs.tolerance))}) may differ here by more than it")


def save(record: Path, results: list[NotebookResult]) -> Path:
    """Write ``verification.json`` beside a record (atomically).

    Parameters
    ----------
    record : Path
        The record folder.
    results : list of NotebookResult

    Returns
    -------
    Path
    """
    from . import provenance
    from .io import write_json
    from datetime import datetime, timezone
    compared = [r for r in results if not r.not_compared]
    return write_json(Path(record) / FILENAME, {
        "verified_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "code": provenance.git_state(Path(__file__).resolve().parent.parent), "machine": provenance.machine(),
        "where": "in CI" if os.environ.get("CI") else "by make verify",
        "ok": all(not r.differ for r in results),
        "cells_compared": sum(r.compared for r in compared), "cells_equal": sum(r.equal for r in compared),
        "notebooks": [{"notebook": r.notebook, "compared": r.compared, "equal": r.equal, "differ": r.differ,
                       "not_compared": r.not_compared, **({"rtol": r.rtol} if r.rtol else {})}
                      for r in results]})


def load(record: Path) -> dict:
    """The last ``verification.json`` of a record (``{}`` when it was never verified or is unreadable)."""
    from .io import read_json
    p = Path(record) / FILENAME
    try:
        return read_json(p) if p.is_file() else {}
    except (OSError, ValueError):
        return {}


def banner_line(v: dict, record_machine: dict | None = None) -> str:
    """One sentence for a chain's pages about its last verification (``""`` when there is none).

    It names the processor that re-executed the record; when ``record_machine`` (the record's provenance
    ``machine``) names another processor, it says so: TensorFlow's training is deterministic on one processor,
    not across processor families, so a difference between machines is not a difference in the code.

    >>> banner_line({"verified_utc": "2026-12-04T08:00:00Z", "ok": True, "cells_compared": 9, "cells_equal": 9,
    ...              "code": {"commit": "abcdef1234567"}, "notebooks": [{"notebook": "02_jobs", "not_compared": "timings"}]})
    '**Verified** 2026-12-04T08:00:00Z (code at `abcdef1234`): re-executed under strict nbval, 9 of 9 compared cells equal; not compared: 02_jobs (timings).'
    """
    if not v:
        return ""
    where = v.get("where") or ""
    skipped = [f"{n['notebook']} ({n['not_compared']})" for n in v.get("notebooks", []) if n.get("not_compared")]
    def plain(text: str) -> str:   # a difference may quote HTML (a claim table): shown, not rendered
        return html.escape(text[:160], quote=False).replace("`", "'")
    differs = [f"{n['notebook']} ({plain(n['differ'][0])})" for n in v.get("notebooks", []) if n.get("differ")]
    commit = ((v.get("code") or {}).get("commit") or "unknown")[:10]
    head = "**Verified**" if v.get("ok") else "**Verification found differences**"
    cpu = (v.get("machine") or {}).get("cpu")
    made_on = (record_machine or {}).get("cpu")
    on = (f" on {cpu}" if cpu else "") + (f" (the record was made on {made_on})" if cpu and made_on and made_on != cpu
                                          else "")
    return (f"{head} {v.get('verified_utc', '?')}{' ' + where if where else ''}{on} (code at `{commit}`): "
            f"re-executed under strict nbval, "
            f"{v.get('cells_equal', 0)} of {v.get('cells_compared', 0)} compared cells equal"
            + (f"; differs: {'; '.join(differs)}" if differs else "")
            + (f"; not compared: {', '.join(skipped)}" if skipped else "") + ".")
