"""Run a paper's chain of notebooks with papermill, and the run context notebooks use.

``run(chain, profile, overrides)`` executes ``notebooks/<chain>/NN_*.ipynb`` in order into a
staging folder and, only when every notebook succeeded, swaps it into
``results/<chain>/<profile>/`` — a failed run leaves the previous good results untouched
and marks nothing as done. A notebook re-runs only when its own inputs changed or a notebook
whose results it reads re-runs (see :mod:`repro.provenance`); the runner says why. After each
notebook, every claim that ``claims.yaml`` declares for it must have been recorded.

Inside a notebook, ``run = chains.start("agn", profile, overrides, notebook="02_simulate")``
gives the validated parameters (``run.params``), the output folder and ``run.claim(...)``.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from . import claims as claims_mod
from . import claimspec, data, params as params_mod, provenance
from .errors import ChainError
from .io import read_json, read_npz, save_figure, write_json, write_npz
from .paths import notebooks_root, repo_root, results_root, run_folder, variant_name

ENV_RUN_DIR = "REPRO_RUN_DIR"
INTERACTIVE = "interactive"  # the variant that executions outside `repro run` write to
WRITERS = "writers.json"  # which notebook wrote each result file of a run folder
# Kernels draw figures inline, so the executed notebooks (and the book) show them.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


# ------------------------------------------------------------------ notebook side
class ResultPath(type(Path())):
    """A file of the run folder; shown by its name only, so that a notebook's output is the same on
    every machine and in every scratch folder (``repro verify`` compares outputs)."""

    def __repr__(self) -> str:
        return f"<result {self.name}>"


class RunContext:
    """What a notebook of a chain needs: parameters, its output folder, claims."""

    def __init__(self, chain: str, profile: str, overrides: Mapping[str, Any] | None, notebook: str):
        self.params = params_mod.load(chain, profile, overrides)
        params_mod.check_requirements(chain, profile)
        self.chain = chain
        self.profile = profile
        self.notebook = notebook
        env = os.environ.get(ENV_RUN_DIR)
        self.interactive = not env
        self.dir = Path(env) if env else run_folder(chain, profile, INTERACTIVE)
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.interactive:  # Jupyter, plain papermill, nbval: never the record
            print(f"interactive run of {chain}/{notebook or '?'} ({profile} profile): results go to {self.dir}; "
                  f"the record is made only by `python -m repro run {chain} --profile {profile}`")
        for name in params_mod.spec(chain).data:
            data.verify(name)

    def path(self, name: str) -> Path:
        """Path of ``name`` in the run folder (for files written by other libraries)."""
        return ResultPath(self.dir / name)

    def save_json(self, name: str, obj) -> Path:
        """Write ``obj`` as JSON to the run folder (atomically) and note this notebook as its writer."""
        return self._written(name, write_json(self.path(name), obj))

    def load_json(self, name: str):
        """Read a JSON result of an earlier notebook this one declares that it reads."""
        return read_json(self._existing(name))

    def save_arrays(self, name: str, **arrays) -> Path:
        """Write arrays as ``.npz`` to the run folder (atomically) and note this notebook as the writer."""
        return self._written(name, write_npz(self.path(name), **arrays))

    def load_arrays(self, name: str) -> dict:
        """Read an ``.npz`` result of an earlier notebook this one declares that it reads."""
        return read_npz(self._existing(name))

    def save_figure(self, fig, name: str, dpi: int | None = None) -> Path:
        """Save a matplotlib figure to the run folder (``dpi``: default that of :func:`repro.io.save_figure`)."""
        kw = {} if dpi is None else {"dpi": int(dpi)}
        return self._written(name, save_figure(fig, self.path(name), **kw))

    def _written(self, name: str, path: Path) -> Path:
        writers = self._writers()
        if writers.get(name) != self.notebook:
            writers[name] = self.notebook
            write_json(self.dir / WRITERS, writers)
        return ResultPath(path)

    def _writers(self) -> dict:
        p = self.dir / WRITERS
        try:
            return read_json(p) if p.exists() else {}
        except (OSError, ValueError):
            return {}

    def _existing(self, name: str) -> Path:
        p = self.path(name)
        if not p.exists():
            raise ChainError(f"{p} does not exist: run the earlier notebooks of chain '{self.chain}' "
                             f"in the '{self.profile}' profile first (python -m repro run {self.chain} "
                             f"--profile {self.profile})")
        writer = self._writers().get(name)
        if writer and self.notebook and writer != self.notebook:
            cs = params_mod.spec(self.chain)
            if writer not in params_mod.upstream(cs, self.notebook):
                raise ChainError(f"notebook {self.notebook} reads {name}, written by {writer}, but "
                                 f"notebooks/{self.chain}/params.yaml does not declare that {self.notebook} "
                                 f"reads {writer}: add it to 'reads'")
        return p

    def claim(self, key: str, value, note: str = "", not_checkable: str | None = None) -> None:
        """Record the measured ``value`` of the declared claim ``key`` and show it in the notebook.

        The statement, the paper's value and the rule come from ``notebooks/<chain>/claims.yaml``
        (see :mod:`repro.claimspec`); ``note`` says how the value was measured;
        ``not_checkable`` gives the reason when this run cannot check the claim.
        """
        c = claims_mod.record(self.chain, key, value, note=note, profile=self.profile, run_dir=self.dir,
                              notebook=self.notebook, params=self.params, not_checkable=not_checkable)
        try:
            from IPython import get_ipython
            from IPython.display import display
            if get_ipython() is not None:
                display(c)
            else:
                print(c)
        except ImportError:  # pragma: no cover
            print(c)


def start(chain: str, profile: str = "smoke", overrides: Mapping[str, Any] | None = None,
          notebook: str = "") -> RunContext:
    """Validate parameters and data, and open the run folder (call in a notebook's 2nd cell).

    Besides ``overrides``, every parameter of the chain that the notebook's namespace sets to a
    value other than ``None`` — the parameters cell declares them all as ``None``; papermill's
    ``-p NAME VALUE`` and ``python -m repro run <id> -p NAME VALUE`` set them — overrides the
    profile's value. A name that papermill injected but the chain does not have stops the
    notebook with a :class:`~repro.params.ParameterError` naming it.

    Raises
    ------
    repro.params.ParameterError
        An unknown or badly typed parameter, or one given both by name and in ``overrides``
        with different values.
    """
    import inspect
    frame = inspect.currentframe().f_back
    namespace = frame.f_globals if frame is not None else {}
    merged = dict(overrides or {})
    for name, value in named_parameters(chain, namespace).items():
        if name in merged and merged[name] != value:
            raise params_mod.ParameterError(
                f"chain '{chain}': parameter '{name}' is set twice, to {value!r} by name and to {merged[name]!r} "
                f"in overrides")
        merged[name] = value
    return RunContext(chain, profile, merged, notebook)


PAPERMILL_HEADER = "# Parameters"
"""The first line of the cell papermill injects after a notebook's parameters cell."""


def named_parameters(chain: str, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The chain's parameters that ``namespace`` (a notebook's globals) sets to a value.

    Also reads the cell papermill injected, if any (IPython's input history ``_ih``), and refuses a
    name in it that is neither ``profile``, ``overrides`` nor a parameter of the chain.

    Parameters
    ----------
    chain : str
    namespace : mapping
        The notebook's global names.

    Returns
    -------
    dict
        ``{name: value}`` of the parameters whose value is not ``None``.

    Raises
    ------
    repro.params.ParameterError
        papermill injected an unknown name.
    """
    import ast
    import types
    cs = params_mod.spec(chain)
    history = namespace.get("_ih")
    if isinstance(history, list):
        injected = [c for c in history if isinstance(c, str) and c.startswith(PAPERMILL_HEADER)]
        if injected:
            try:
                names = [t.id for node in ast.parse(injected[-1]).body if isinstance(node, (ast.Assign, ast.AnnAssign))
                         for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                         if isinstance(t, ast.Name)]
            except SyntaxError:
                names = []
            for n in names:
                if n not in ("profile", "overrides") and n not in cs.params:
                    raise params_mod.ParameterError(params_mod.unknown_message(chain, n, cs.params)
                                                    + " (passed to papermill with -p)")
    out = {}
    for name in cs.params:
        if name in namespace and namespace[name] is not None:
            v = namespace[name]
            if isinstance(v, (types.ModuleType, types.FunctionType, type)):
                continue   # a name the notebook imported, not a value
            out[name] = v
    return out


# ------------------------------------------------------------------- runner side
@dataclass
class RunReport:
    """What :func:`run` did: the notebooks it executed and skipped, and how long it took."""

    chain: str
    profile: str
    run_dir: Path
    executed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def notebooks_of(chain: str) -> list[Path]:
    """The source notebooks of ``chain`` in the order of its ``params.yaml``.

    Raises
    ------
    ChainError
        ``params.yaml`` lists a notebook that does not exist.
    """
    cs = params_mod.spec(chain)
    folder = notebooks_root() / chain
    paths = [folder / n for n in cs.notebooks]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise ChainError(f"chain '{chain}': params.yaml lists notebooks that do not exist: {', '.join(missing)}")
    return paths


def last_states(text: str) -> str:
    r"""A stream's text as a terminal leaves it: of each line, what follows its last ``\r``
    (a progress bar's last state; a bar cleared by ``\r`` at the very end leaves nothing).

    >>> last_states("\rfit 0/9\rfit 9/9\ndone\n")
    'fit 9/9\ndone\n'
    """
    import re
    return re.sub(r"[^\n]*\r(?!\n)", "", text)


def _coalesced(outputs: list) -> list:
    """Consecutive stream outputs of one name merged, each line reduced to its last state (:func:`last_states`)."""
    out: list = []
    for o in outputs:
        if o.get("output_type") == "stream" and out and out[-1].get("output_type") == "stream" \
                and out[-1].get("name") == o.get("name"):
            out[-1]["text"] += o["text"]
        else:
            out.append(o)
    for o in out:
        if o.get("output_type") == "stream":
            o["text"] = last_states(o["text"])
    return out


def coalesce_streams(path: Path) -> None:
    """Rewrite an executed notebook with its stream outputs coalesced, as Jupyter shows them.

    A progress bar sends one stream output per update (20,000 of them for a 20,000-step
    training); a reader sees only the last state of each line. This keeps that state, which is
    also what ``repro verify`` compares (nbval merges consecutive streams the same way), so the
    record holds what the page shows and stays small. Written atomically.
    """
    import nbformat
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.get("cell_type") == "code" and cell.get("outputs"):
            cell["outputs"] = _coalesced(cell["outputs"])
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(nb, str(tmp))
    os.replace(tmp, path)


@contextmanager
def _stderr_to(path: Path):
    """Send this process's file descriptor 2 (and so the kernels' own noise: TensorFlow's C++
    logs, oneDNN notices, jupyter_client's warnings) to ``path`` while the block runs."""
    import sys
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as fh:
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@contextmanager
def _env(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _failure_message(chain: str, nb: Path, exc: Exception, kept: Path, logs: Path) -> str:
    cell = getattr(exc, "cell_index", None)
    count = getattr(exc, "exec_count", None)
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    where = f"cell {cell}" if cell is not None else "a cell"
    if count is not None:
        where += f" (execution count {count})"
    return (f"chain '{chain}': notebook {nb.name} failed in {where}: {ename}: {evalue}\n"
            f"  the executed notebook with the traceback is at {kept / nb.name}\n"
            f"  the kernel's own messages are in {logs / (nb.stem + '.log')}\n"
            f"  previous results (if any) are untouched")


def _claims_digest(chain: str) -> str | None:
    from .judge import claims_yaml_digest
    return claims_yaml_digest(chain)


def _is_record(folder: Path) -> bool:
    """Whether ``folder`` is inside the repository's own ``results/`` (the committed record)."""
    try:
        folder.resolve().relative_to((repo_root() / "results").resolve())
        return True
    except ValueError:
        return False


FIGURE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg")
"""Figure files are for readers (the executed notebooks hold them inline); no notebook needs one
from an earlier notebook, so an absent figure never makes its writer re-run."""


def _rerun_writers_of_absent_results(cs, nbs: list[Path], final: Path, why: dict[str, list[str]]) -> None:
    """Intermediate arrays are not committed with the record: a notebook that must re-run and reads
    one that is absent makes its writer re-run first (and then everything that reads the writer)."""
    writers = {}
    try:
        writers = read_json(final / WRITERS) if (final / WRITERS).exists() else {}
    except (OSError, ValueError):
        pass
    absent: dict[str, list[str]] = {}
    for name, nb in writers.items():
        if not (final / name).exists() and Path(name).suffix.lower() not in FIGURE_SUFFIXES:
            absent.setdefault(nb, []).append(name)
    changed = True
    while changed:
        changed = False
        for nb in nbs:
            if not why[nb.name]:
                continue
            for up in params_mod.upstream(cs, nb.stem):
                if absent.get(up) and not why[f"{up}.ipynb"]:
                    why[f"{up}.ipynb"] = [f"{nb.stem} needs its result {absent[up][0]}, which the record does not keep"]
                    changed = True
        for nb in nbs:
            ups = [u for u in cs.reads[nb.stem] if why[f"{u}.ipynb"]]
            if ups and not why[nb.name]:
                why[nb.name] = ["reads " + ", ".join(ups) + ", which re-runs"]
                changed = True


@contextmanager
def _lock(folder: Path, wait: bool):
    """Hold ``<results>/<id>/.lock-<folder>`` while the block runs (released when the process dies)."""
    import fcntl
    folder.parent.mkdir(parents=True, exist_ok=True)
    path = folder.parent / f".lock-{folder.name}"
    fh = open(path, "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise ChainError(f"another run of {folder.parent.name}/{folder.name} is in progress (process {holder}); "
                             f"wait for it, or pass --wait") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield
    finally:
        fh.close()


@contextmanager
def _terminate_as_interrupt():
    """Turn SIGTERM (timeout, kill, a batch scheduler) and SIGINT into KeyboardInterrupt while the
    block runs — SIGINT too, because a process started in the background of a non-interactive
    shell (nohup, CI) inherits it as ignored."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _kill_children() -> None:
    """Stop every process this one started (the notebook kernels), and theirs."""
    import signal
    todo, seen = _children(os.getpid()), []
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo.extend(_children(pid))
    for pid in reversed(seen):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def dead_staging(parent: Path) -> list[Path]:
    """Staging folders in ``parent`` (``results/<id>``) left by runs whose process has died."""
    out = []
    for d in Path(parent).glob(".staging-*"):
        pid = d.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            out.append(d)
    return out


def _remove_dead_staging(parent: Path) -> None:
    for d in dead_staging(parent):
        shutil.rmtree(d, ignore_errors=True)


def _utc_now() -> str:
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(chain: str, profile: str = "full", overrides: Mapping[str, Any] | None = None, *,
        force: bool = False, allow_dirty: bool = False, name: str | None = None, wait: bool = False,
        log: Callable[[str], None] = print) -> RunReport:
    """Execute a chain; see the module docstring.

    A run without overrides (and without ``name``) writes the record ``results/<id>/<profile>/``;
    any other writes a variant beside it, ``results/<id>/<profile>@<name>/`` (``name`` defaults
    to the sorted overrides, e.g. ``seed=7``), so that the record is never replaced by a run
    with other parameters. One run at a time per folder: a second one stops at once (or, with
    ``wait``, waits). SIGINT and SIGTERM stop the kernels, remove the staging folder and leave
    the previous results as they were.

    Raises
    ------
    ChainError
        Unknown chain, a notebook failed (message names notebook and cell), another run holds
        the folder, or the run was interrupted.
    ParameterError
        Bad overrides (raised before anything runs).
    DataError
        A data set of the chain is missing or corrupted (raised before anything runs).
    """
    import papermill as pm

    params_mod.check_profile(profile, chain)
    p = params_mod.load(chain, profile, overrides)  # validates before anything runs
    params_mod.check_requirements(chain, profile)
    cs = params_mod.spec(chain)
    for dataset in cs.data:
        data.verify(dataset)
    if claimspec.exists(chain):
        claimspec.load(chain)  # a malformed claims.yaml stops the run before anything executes
    nbs = notebooks_of(chain)
    variant = name or (variant_name(p.overrides) if p.overrides else None)
    final = run_folder(chain, profile, variant)
    with _lock(final, wait), _terminate_as_interrupt():
        try:
            return _run_locked(chain, profile, p, cs, nbs, final, variant, force, allow_dirty, log)
        except KeyboardInterrupt:
            _kill_children()
            raise ChainError(f"chain '{chain}': interrupted; the kernels are stopped, the staging folder is removed "
                             f"and the previous results in {final} are as they were") from None


def _run_locked(chain, profile, p, cs, nbs, final, variant, force, allow_dirty, log) -> RunReport:
    import papermill as pm

    run_params = {"profile": profile, **p.as_dict()}
    inputs = provenance.chain_inputs(nbs, run_params, cs.data, cs.reads)
    digests = provenance.digests(inputs)
    _remove_dead_staging(final.parent)
    previous = provenance.load_record(final) if final.exists() else {}
    why = provenance.reasons(previous, inputs, digests, run_params)
    for nb in nbs:
        if not (final / nb.name).exists() and not why[nb.name]:
            why[nb.name] = ["its executed notebook is missing"]
        if force:
            why[nb.name] = ["forced"]
    # a notebook that reads a re-run notebook re-runs too (its digest already says so, unless forced/missing)
    for nb in nbs:
        ups = [f"{u}.ipynb" for u in cs.reads[nb.stem]]
        if not why[nb.name] and any(why[u] for u in ups):
            why[nb.name] = ["reads " + ", ".join(Path(u).stem for u in ups if why[u]) + ", which re-runs"]
    _rerun_writers_of_absent_results(cs, nbs, final, why)
    todo = [nb for nb in nbs if why[nb.name]]
    expected = previous.get("wall_seconds", {})
    report = RunReport(chain, profile, final, skipped=[n.name for n in nbs if not why[n.name]])
    t_all = time.perf_counter()
    n = len(nbs)
    for i, nb in enumerate(nbs):
        if not why[nb.name]:
            log(f"[{chain} {i + 1}/{n}] {nb.name:<34} skipped (unchanged)")
    if not todo:
        return report

    code = provenance.git_state(repo_root())
    if profile == "full" and variant is None and code["dirty"] and not allow_dirty and _is_record(final):
        raise ChainError(f"the working tree has uncommitted changes ({', '.join(code['changed'][:5])}"
                         f"{' ...' if len(code['changed']) > 5 else ''}): the full-profile record must come from "
                         f"committed code. Commit first, or pass --allow-dirty (the record is then marked dirty)")
    parent = final.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = parent / f".staging-{final.name}-{os.getpid()}"
    failed = parent / f".failed-{final.name}"
    logs = parent / f".log-{final.name}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(logs, ignore_errors=True)
    started = _utc_now()
    walls = {k: v for k, v in expected.items() if k not in {nb.name for nb in todo}}
    if final.exists():
        shutil.copytree(final, staging)
        (staging / provenance.FILENAME).unlink(missing_ok=True)
        (staging / "verification.json").unlink(missing_ok=True)   # a new record is not yet verified
        if (staging / claims_mod.FILENAME).exists():
            claims_mod.drop_notebooks(staging / claims_mod.FILENAME, [x.name for x in todo])
    else:
        staging.mkdir(parents=True)
    try:
        with _env(**{ENV_RUN_DIR: staging, "REPRO_PROFILE": profile, "MPLBACKEND": INLINE_BACKEND}):
            for nb in todo:
                i = nbs.index(nb)
                t0 = time.perf_counter()
                eta = f", last time {_duration(expected[nb.name])}" if nb.name in expected else ""
                log(f"[{chain} {i + 1}/{n}] {nb.name:<34} running ({'; '.join(why[nb.name])}{eta}) ...")
                try:
                    with _stderr_to(logs / f"{nb.stem}.log"):
                        pm.execute_notebook(
                            str(nb), str(staging / nb.name),
                            parameters={"profile": profile, **dict(p.overrides)},
                            kernel_name="python3", cwd=str(nb.parent), progress_bar=False,
                            log_output=False, request_save_on_cell_execute=False,
                        )
                except Exception as exc:  # papermill wraps cell errors; anything else is ours to report too
                    shutil.rmtree(failed, ignore_errors=True)
                    staging.rename(failed)
                    raise ChainError(_failure_message(chain, nb, exc, failed, logs)) from None
                coalesce_streams(staging / nb.name)
                store = claims_mod.load_store(staging / claims_mod.FILENAME)
                missing = claims_mod.missing_in(chain, nb.stem, store, p)
                if missing:
                    shutil.rmtree(failed, ignore_errors=True)
                    staging.rename(failed)
                    raise ChainError(f"chain '{chain}': notebook {nb.name} did not record the declared "
                                     f"claim(s) {', '.join(missing)} (notebooks/{chain}/claims.yaml); "
                                     f"the executed notebook is at {failed / nb.name}; previous results are untouched")
                report.executed.append(nb.name)
                walls[nb.name] = round(time.perf_counter() - t0, 1)
                log(f"[{chain} {i + 1}/{n}] {nb.name:<34} done in {_duration(walls[nb.name])} "
                    f"(total {_duration(time.perf_counter() - t_all)})")
        provenance.save(staging, digests, {
            "chain": chain, "profile": profile, "variant": variant, "params": run_params,
            "overrides": dict(p.overrides),
            "claims_yaml": _claims_digest(chain), "code": code, "started_utc": started, "finished_utc": _utc_now(),
            "wall_seconds": {nb.name: walls.get(nb.name) for nb in nbs}, "executed": report.executed,
            "machine": provenance.machine(), "packages": provenance.package_versions(), "inputs": inputs})
        if (staging / claims_mod.FILENAME).exists():
            # verdicts that refer to claims recorded later (significance, prerequisites) are final only
            # now: judge the whole run once more, so that the executed notebooks show the final ones
            from . import judge as judge_mod
            judge_mod.rejudge(chain, profile, folder=staging)
        old = parent / f".old-{final.name}-{os.getpid()}"
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(failed, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.seconds = time.perf_counter() - t_all
    return report
