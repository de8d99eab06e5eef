"""Command line: ``python -m repro <command>``.

  run <id> [--profile smoke|full|<own>] [-p key value ...] [--force] re-run one paper
  params <id>                                                    list a chain's parameters
  list                                                           the chains
  claims [--format text|markdown|json] [--chain id] [--profile p] the claims table
  book [--force] [--no-run] [--no-build]                         bring the records up to date and build the book
  data check | data manifest <name>                              verify data / regenerate a registry entry
  judge [<id>] [--profile p]                                     re-apply claims.yaml to a record's values
  verify <id> [--profile p]                                      re-execute a record under strict nbval
  check-book [--no-build]                                        open every page of the built book in headless Chromium
  status [--chain id] [--profile p] [--json] [--check]           is each chain's record fresh, stale or missing?

Errors (unknown chain or parameter, bad value, missing or corrupted data, a failed notebook)
print one ``error: ...`` line and exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys

from . import claims as claims_mod
from . import data, params as params_mod
from .errors import ReproError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """Usage errors: the usage line, one ``error:`` line, exit status 2 (like every other error)."""
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def _build() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m repro", description="Re-run papers, check claims and data.")
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run one chain (papermill), outputs in results/<id>/<profile>/")
    r.add_argument("chain")
    r.add_argument("--profile", default="full",
                   help="smoke, full (default) or a profile of the chain's own (e.g. psfgan's gpu; see repro params <id>)")
    r.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"), default=[],
                   help="override one parameter (repeatable)")
    r.add_argument("--force", action="store_true", help="execute every notebook even if unchanged")
    r.add_argument("--sweep", metavar="KEY=A..B",
                   help="run one variant per value, e.g. seed=0..4 or lr=0.1,0.2 (the record is untouched)")
    r.add_argument("--jobs", type=int, default=1, help="variants of a sweep run at once (threads per job: cores/jobs)")
    r.add_argument("--name", help="name of the variant folder (default: the sorted overrides, e.g. seed=7)")
    r.add_argument("--wait", action="store_true", help="wait for another run of the same folder instead of stopping")
    r.add_argument("--allow-dirty", action="store_true",
                   help="let uncommitted code make the full-profile record (it is marked dirty)")

    pa = sub.add_parser("params", help="list the parameters of a chain")
    pa.add_argument("chain")

    sub.add_parser("list", help="list the chains")

    c = sub.add_parser("claims", help="print the claims table")
    c.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    c.add_argument("--chain")
    c.add_argument("--profile", choices=params_mod.PROFILES)
    c.add_argument("--compare", action="store_true", help="the record and its variants side by side (with --chain)")
    c.add_argument("--sweep", nargs="?", const="seed", metavar="KEY",
                   help="each claim's verdict and spread across the variants that sweep KEY (default seed)")

    b = sub.add_parser("book", help="run every chain in the full profile and build the HTML book")
    b.add_argument("--force", action="store_true")
    b.add_argument("--no-build", action="store_true", help="execute and generate pages, skip jupyter-book")
    b.add_argument("--no-run", action="store_true",
                   help="build from the records as they are: execute nothing, mark stale and missing ones")
    b.add_argument("--profile", default="full", choices=params_mod.PROFILES,
                   help="profile to execute (the book shows verdicts only for full)")

    j = sub.add_parser("judge", help="re-apply claims.yaml to the values a record holds (executes nothing)")
    j.add_argument("chain", nargs="?")
    j.add_argument("--profile", default="full", choices=params_mod.PROFILES)

    v = sub.add_parser("verify", help="re-execute a chain's record under strict nbval and compare every output")
    v.add_argument("chain", nargs="?", help="a chain id (or --ci)")
    v.add_argument("--ci", action="store_true", help="the chains CI verifies (repro.verify.CI_CHAINS)")
    v.add_argument("--profile", default="full", choices=params_mod.PROFILES)

    cb = sub.add_parser("check-book", help="build the book from the records and open every page in headless Chromium")
    cb.add_argument("--no-build", action="store_true", help="check the HTML already in _build/html")

    st = sub.add_parser("status", help="is each chain's record fresh, stale (and why) or missing?")
    st.add_argument("--chain")
    st.add_argument("--profile", choices=params_mod.PROFILES, help="one profile (default: both)")
    st.add_argument("--json", action="store_true", help="one JSON list on stdout")
    st.add_argument("--check", action="store_true",
                    help="exit 1 when a full-profile record is missing or stale")

    d = sub.add_parser("data", help="data registry")
    dsub = d.add_subparsers(dest="data_cmd", required=True, parser_class=_Parser)
    dsub.add_parser("check", help="verify every registered data set")
    m = dsub.add_parser("manifest", help="regenerate the file list of a data set's registry entry")
    m.add_argument("name")
    return ap


def _cmd_run(a) -> int:
    from . import chains
    overrides = {}
    for key, value in a.param:
        if key in overrides:
            raise params_mod.ParameterError(f"parameter '{key}' given twice")
        overrides[key] = value
    if a.sweep:
        from . import sweep
        key, values = sweep.parse_sweep(a.sweep)
        if key in overrides:
            raise params_mod.ParameterError(f"parameter '{key}' is both swept and set with -p")
        done = sweep.run_sweep(a.chain, a.profile, key, values, overrides, jobs=a.jobs)
        bad = [n for n, rc in done if rc != 0]
        print()
        print(sweep.stability_table(sweep.stability(a.chain, a.profile, key), key))
        if bad:
            print(f"error: {len(bad)} of {len(done)} variants failed: {', '.join(bad)}", file=sys.stderr)
            return 2
        return 0
    rep = chains.run(a.chain, a.profile, overrides, force=a.force, allow_dirty=a.allow_dirty, name=a.name,
                     wait=a.wait)
    if rep.run_dir.name != a.profile:
        print(f"a variant (the record results/{a.chain}/{a.profile}/ is untouched): {rep.run_dir}")
    if rep.executed:
        print(f"{a.chain}/{a.profile}: executed {len(rep.executed)}, skipped {len(rep.skipped)} "
              f"in {rep.seconds:.1f} s; results in {rep.run_dir}")
    else:
        print(f"{a.chain}/{a.profile}: nothing changed, all {len(rep.skipped)} notebooks skipped; results in {rep.run_dir}")
    rows = list(claims_mod.load_store(rep.run_dir / claims_mod.FILENAME).values())
    if rows:
        print()
        print(claims_mod.text_table(rows))
    return 0


def _cmd_judge(a) -> int:
    from . import judge
    chains_ = [a.chain] if a.chain else params_mod.available_chains()
    for ch in chains_:
        params_mod.spec(ch)
        changes = judge.rejudge(ch, a.profile)
        if not changes:
            print(f"{ch}/{a.profile}: no record")
            continue
        moved = [(k, o, n) for k, o, n in changes if o != n]
        print(f"{ch}/{a.profile}: {len(changes)} claims re-judged, {len(moved)} verdicts changed"
              + "".join(f"\n    {k}: {o} -> {n}" for k, o, n in moved))
        from . import sweep
        for folder in sweep.paths_of(ch, a.profile):   # the seed sweeps shown beside the record
            if folder.name.endswith("@interactive") or not (folder / "claims.json").exists():
                continue
            moved = [(k, o, n) for k, o, n in judge.rejudge(ch, a.profile, folder=folder) if o != n]
            print(f"    {folder.name}: re-judged, {len(moved)} verdicts changed")
    return 0


def _cmd_verify(a) -> int:
    from . import verify
    if a.ci == bool(a.chain):
        raise params_mod.ParameterError("give one chain id or --ci (the chains CI verifies)")
    ok = True
    for chain in (verify.CI_CHAINS if a.ci else (a.chain,)):
        params_mod.spec(chain)
        print(f"verifying {chain}/{a.profile}: re-executing its notebooks under strict nbval ...")
        results = verify.verify(chain, a.profile)
        print(verify.summary_line(results))
        ok = ok and all(not r.differ for r in results)
    return 0 if ok else 1


def _cmd_check_book(a) -> int:
    from . import book, bookcheck
    from .paths import repo_root
    root = repo_root()
    if not a.no_build:
        book.build(run=False)
    n_claims = len(claims_mod.collect(profile="full"))
    reports = bookcheck.check(root / "_build" / "html", bookcheck.toc_pages(root), expected_claims=n_claims,
                              screenshots=root / "_build" / "screenshots")
    for r in reports:
        print(r.line())
    bad = [r for r in reports if not r.ok]
    print(f"{len(reports) - len(bad)} of {len(reports)} pages pass; claims page checked for {n_claims} rows; "
          f"screenshots in {root / '_build' / 'screenshots'}")
    return 1 if bad else 0


def _cmd_status(a) -> int:
    from . import status
    if a.chain:
        params_mod.spec(a.chain)  # unknown chain -> clear error
    rows = status.all_status((a.profile,) if a.profile else params_mod.PROFILES, a.chain)
    if a.json:
        print(json.dumps(status.as_json(rows), indent=2))
    else:
        for r in rows:
            print(r.line())
    bad = [r for r in rows if r.profile == "full" and r.state != status.FRESH]
    return 1 if a.check and bad else 0


def _cmd_claims(a) -> int:
    if a.chain:
        params_mod.spec(a.chain)  # unknown chain -> clear error
    if a.compare or a.sweep:
        from . import sweep
        if not a.chain:
            raise ReproError("--compare and --sweep need --chain <id>")
        profile = a.profile or "full"
        if a.compare:
            print(sweep.compare_table(a.chain, profile))
        else:
            rows = sweep.stability(a.chain, profile, a.sweep)
            print(json.dumps(rows, indent=2) if a.format == "json" else sweep.stability_table(rows, a.sweep))
        return 0
    rows = claims_mod.collect(a.chain, a.profile)
    if a.format == "json":
        print(json.dumps(claims_mod.as_json_rows(rows), indent=2))
    elif a.format == "markdown":
        print(claims_mod.markdown_table(rows, link_base=None), end="")
    else:
        print(claims_mod.text_table(rows))
    return 0


def _cmd_data(a) -> int:
    if a.data_cmd == "check":
        results = data.check_all()
        for r in results:
            print(r.line())
        bad = [r for r in results if r.status != "ok"]
        return 1 if bad else 0
    path = data.write_manifest(a.name)
    print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command line (see the module docstring); returns the exit status."""
    a = _build().parse_args(argv)
    try:
        if a.cmd == "run":
            return _cmd_run(a)
        if a.cmd == "params":
            print(params_mod.describe(a.chain))
            return 0
        if a.cmd == "list":
            for ch in params_mod.available_chains():
                cs = params_mod.spec(ch)
                print(f"{ch:<12} {cs.paper:<18} {cs.title}")
            return 0
        if a.cmd == "claims":
            return _cmd_claims(a)
        if a.cmd == "status":
            return _cmd_status(a)
        if a.cmd == "check-book":
            return _cmd_check_book(a)
        if a.cmd == "verify":
            return _cmd_verify(a)
        if a.cmd == "judge":
            return _cmd_judge(a)
        if a.cmd == "book":
            from . import book
            return book.build(force=a.force, build_html=not a.no_build, profile=a.profile, run=not a.no_run)
        if a.cmd == "data":
            return _cmd_data(a)
    except ReproError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m repro params agn | head`: the reader has gone; stop quietly
        _silence_stdout()
        return 0
    return 2


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
