"""`repro verify`: the record re-executes to the same outputs; an edited output is caught."""
import json
from pathlib import Path

from repro import chains, verify

from .test_chains import toy  # noqa: F401


def test_verify_passes_then_catches_an_edited_number(toy, tmp_path):  # noqa: F811
    chains.run("toy", "full", log=lambda m: None)
    record = tmp_path / "results" / "toy" / "full"
    before = {p.name: p.read_bytes() for p in record.iterdir() if p.is_file()}
    results = verify.verify("toy", log=lambda m: None)
    assert [r.notebook for r in results] == ["01_make", "02_claim"]
    assert all(r.compared > 0 and r.equal == r.compared and not r.differ for r in results), \
        [r.line() for r in results]
    after = {p.name: p.read_bytes() for p in record.iterdir() if p.is_file()}
    written = json.loads(after.pop("verification.json"))                 # the result, beside the record
    assert after == before                                                 # the record itself is never touched
    assert written["ok"] is True and written["cells_equal"] == written["cells_compared"] > 0
    assert verify.banner_line(verify.load(record)).startswith("**Verified**")
    assert not list(record.parent.glob(".verify-*"))
    # a reader edits one number in a committed output (a copy of the record)
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in record.iterdir():
        if p.is_file():
            (copy / p.name).write_bytes(p.read_bytes())
    nb = json.loads((copy / "02_claim.ipynb").read_text())
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            if "text/html" in o.get("data", {}):
                html = "".join(o["data"]["text/html"])
                o["data"]["text/html"] = html.replace("<td style='text-align:left'>4</td>",
                                                      "<td style='text-align:left'>5</td>", 1)
    (copy / "02_claim.ipynb").write_text(json.dumps(nb))
    results = verify.verify("toy", record=copy, log=lambda m: None)
    bad = [r for r in results if r.differ]
    assert [r.notebook for r in bad] == ["02_claim"]
    assert verify.load(copy)["ok"] is False
    assert verify.banner_line(verify.load(copy)).startswith("**Verification found differences**")
    assert "differs: 02_claim (Cell " in verify.banner_line(verify.load(copy))     # the page names the cell
    # a new record of the chain is not verified yet
    chains.run("toy", "full", force=True, log=lambda m: None)
    assert verify.load(record) == {}
    assert bad[0].differ[0].startswith("Cell ") and "02_claim" in bad[0].line()


def test_verify_needs_a_chain_or_ci(capsys):
    from repro import cli
    assert cli.main(["verify"]) == 2
    assert "give one chain id or --ci" in capsys.readouterr().err
    assert set(verify.CI_CHAINS) >= {"agn", "databright", "adpsgd", "dcd"}


def _sanitize(text: str) -> str:
    """Apply tests/nbval_sanitize.cfg as nbval does (its own parser, the patterns in file order)."""
    from pathlib import Path

    from nbval.plugin import get_sanitize_patterns
    cfg = Path(__file__).with_name("nbval_sanitize.cfg").read_text()
    import re
    for regex, replace in get_sanitize_patterns(cfg):
        text = re.sub(regex, replace, text)
    return text


def test_sanitize_hides_machine_details_but_not_results():
    # the checkout's absolute path in a warning differs between two clones (it failed CI once)
    a = "/work/main/.venv/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning: IProgress not found."
    b = "/home/ci/build/ci-check/.venv/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning: IProgress not found."
    assert _sanitize(a) == _sanitize(b) == "<site-packages>/tqdm/auto.py:21: TqdmWarning: IProgress not found."
    # progress lines: times and rates hidden, counts kept
    bar1 = "sims: 100%|##########| 40/40 [00:31<00:00,  7.8s/it]"
    bar2 = "sims: 100%|##########| 40/40 [01:02<00:00,  1.55s/it]"
    assert _sanitize(bar1) == _sanitize(bar2)
    assert _sanitize(bar1) != _sanitize(bar1.replace("40/40", "39/40"))
    assert _sanitize("40 runs in 3.2 min") == _sanitize("40 runs in 11 min")
    # a bar with values after its rate: the time goes, the values stay
    post1 = "GAN (sersic): 100%|##########| 20000/20000 [21:46<00:00, 15.3it/s, l1=0.0151, val=0.0390]"
    post2 = "GAN (sersic): 100%|##########| 20000/20000 [27:54<00:00, 11.9it/s, l1=0.0151, val=0.0390]"
    assert _sanitize(post1) == _sanitize(post2) == "GAN (sersic): 100%|##########| 20000/20000 [<time>, l1=0.0151, val=0.0390]"
    assert _sanitize(post1) != _sanitize(post1.replace("l1=0.0151", "l1=0.0152"))
    # a bar's state cut by a warning depends on thread timing; its final state on its own line does not
    cut = "GAN:   2%|▏         | {} [00:11<04:20, 45.1it/s]/x/site-packages/tqdm/auto.py:21: TqdmWarning: IProgress\n"
    assert _sanitize(cut.format("499/20000")) == _sanitize(cut.format("500/20000"))
    assert _sanitize(bar1 + "\n") != _sanitize(bar1.replace("40/40", "39/40") + "\n")
    assert _sanitize(bar1 + "   \n") != _sanitize(bar1.replace("40/40", "39/40") + "   \n")   # tqdm's padding
    # a bar's earlier state run together with its later one (the record's stderr split by a stdout
    # message, its "\r" lost) reads as the later state alone, as a fresh execution shows it
    joined = ("train:  10%|█         | 2/20 [01:46<15:44, 52.45s/net, arm=transfer, fold=0]"
              "train: 100%|██████████| 20/20 [22:34<00:00, 67.72s/net, arm=scratch, fold=4]\n")
    fresh = "train: 100%|██████████| 20/20 [12:51<00:00, 38.60s/net, arm=scratch, fold=4]\n"
    assert _sanitize(joined) == _sanitize(fresh) == "train: 100%|██████████| 20/20 [<time>, arm=scratch, fold=4]\n"
    assert _sanitize(joined) != _sanitize(fresh.replace("20/20", "19/20"))   # the final state is still compared
    assert _sanitize(joined) != _sanitize(fresh.replace("fold=4", "fold=3"))
    # an object's address in a warning
    retrace = "5 out of the last 9 calls to <function one_step_on_data_distributed at {}> triggered retracing"
    assert _sanitize(retrace.format("0x7f501f8bb600")) == _sanitize(retrace.format("0x7f1e2c3d4e50"))
    # numbers that are results are never touched
    for result in ("median SF_inf = 0.172 mag, median tau = 1.17 yr", "ours=0.4563184200594359",
                   "KS statistic 3.34e-04 on 6553600 values", "5 levels, lags 0.01 yr to 6.55e+09 yr"):
        assert _sanitize(result) == result


def test_verify_within_a_tolerance(toy, tmp_path):  # noqa: F811
    """A notebook declared with {rtol, reason} is compared number by number: a small change of a
    number passes, a larger one or a changed word fails, naming the cell."""
    import yaml
    spec_path = toy / "notebooks" / "toy" / "params.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["verify"] = {"02_claim": {"rtol": 0.2, "reason": "a stand-in for a TensorFlow training"}}
    spec_path.write_text(yaml.safe_dump(spec))
    chains.run("toy", "full", log=lambda m: None)
    record = tmp_path / "results" / "toy" / "full"
    results = verify.verify("toy", log=lambda m: None)
    within = results[1]
    assert within.rtol == 0.2 and within.compared > 0 and within.equal == within.compared, within.line()
    assert "within 0.2 relative" in within.line()
    assert json.loads((record / "verification.json").read_text())["notebooks"][1]["rtol"] == 0.2

    def edited(old: str, new: str):
        copy = tmp_path / f"copy-{len(list(tmp_path.glob('copy-*')))}"
        copy.mkdir()
        for p in record.iterdir():
            if p.is_file():
                (copy / p.name).write_bytes(p.read_bytes())
        nb = json.loads((copy / "02_claim.ipynb").read_text())
        hits = 0
        for c in nb["cells"]:
            for o in c.get("outputs", []):
                if "text/html" in o.get("data", {}):
                    html = "".join(o["data"]["text/html"])
                    hits += html.count(old)
                    o["data"]["text/html"] = html.replace(old, new, 1)
        assert hits, old
        (copy / "02_claim.ipynb").write_text(json.dumps(nb))
        return verify.verify("toy", record=copy, log=lambda m: None)[1]

    cell = "<td style='text-align:left'>4</td>"
    assert not edited(cell, cell.replace(">4<", ">4.5<")).differ              # 11 % off: within 20 %
    far = edited(cell, cell.replace(">4<", ">6<"))                             # 33 % off
    assert far.differ and far.differ[0].startswith("Code cell ") and "6 against 4" in far.differ[0]
    word = edited("reproduced", "not reproduced")
    assert word.differ and "text differs" in word.differ[0] and "reproduced" in word.differ[0]
    # the re-executed notebook that differs is kept for the reader, beside the copy, until the next verify
    kept = tmp_path / f".verify-{sorted(tmp_path.glob('copy-*'))[-1].name}-differences" / "02_claim.ipynb"
    assert kept.exists() and str(kept) in word.differ[-1]
    assert word.equal == word.compared - 1 and "1 DIFFER" in word.line()
    assert not (tmp_path / ".verify-copy-0-differences").exists()      # nothing kept when all agree


def test_compare_text_units_and_shapes():
    assert verify.compare_text("p = 0.0500", "p = 0.0501", rtol=1e-9) is None           # last printed digit
    assert verify.compare_text("p = 0.0500", "p = 0.0503", rtol=1e-9) is not None
    assert verify.compare_text("3.34e-04 on 10 values", "3.35e-04 on 10 values", rtol=0) is None
    assert verify.compare_text("a  12.5  b", "a 12.51 b", rtol=0.01) is None               # a table re-aligned
    assert verify.compare_text("1 2", "1 2 3", rtol=0.5) == "text differs: '# #' against '# # #' (# stands for a number)"
    assert verify.compare_text("run n16 seed 3", "run n16 seed 4", rtol=0.5) is None      # 3 vs 4 within 50 %
    assert verify.compare_text("run n16 seed 3", "run n16 seed 4", rtol=0.1) is not None


def test_verify_declaration_is_checked(tmp_path):
    from repro.errors import ParameterError
    from repro.params import _verify
    import pytest
    nbs = ("01_a.ipynb", "02_b.ipynb")
    skip, tol = _verify(tmp_path, nbs, {"01_a": "timings", "02_b": {"rtol": 0.02, "reason": "TF"}})
    assert dict(skip) == {"01_a": "timings"} and dict(tol) == {"02_b": (0.02, "TF")}
    for bad in ({"02_b": {"rtol": 2, "reason": "x"}}, {"02_b": {"rtol": 0.1}}, {"02_b": {"rtol": 0.1, "reason": "x", "atol": 1}},
                {"02_b": {"rtol": True, "reason": "x"}}, {"03_c": "x"}, ["01_a"]):
        with pytest.raises(ParameterError):
            _verify(tmp_path, nbs, bad)


def test_progress_bars_compare_by_their_last_state():
    bar = lambda *states: {"cell_type": "code", "outputs": [{"output_type": "stream", "name": "stderr",   # noqa: E731
                                                              "text": "".join("\r" + s for s in states) + "\n"}]}
    pats = [(r"\[[\d:]+<[\d:?]+,\s*(\d+(\.\d+)?|\?)\s*[a-zA-Z]*/[a-zA-Z]+\]", "[<time>]")]
    a = verify._output_texts(bar("fit: 0%| 0/9 [00:00<?, ?it/s]", "fit: 100%| 9/9 [00:03<00:00, 2.9it/s]"), pats)
    b = verify._output_texts(bar("fit: 0%| 0/9 [00:00<?, ?it/s]", "fit: 40%| 4/9 [00:01<00:02, 2.0it/s]",
                                 "fit: 100%| 9/9 [00:05<00:00, 1.8it/s]"), pats)
    assert a == b == ["[stderr] fit: 100%| 9/9 [<time>]\n"]
    # a fresh execution sends one stream output per update (the text as a list of lines, as in the
    # .ipynb file); the record holds them merged, as the runner stores them
    split = {"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": ["training\n"]},
        *({"output_type": "stream", "name": "stderr", "text": ["\r" + s]}
          for s in ("fit: 0%| 0/9 [00:00<?, ?it/s]", "fit: 40%| 4/9 [00:01<00:02, 2.0it/s]",
                    "fit: 100%| 9/9 [00:05<00:00, 1.8it/s]")),
        {"output_type": "stream", "name": "stderr", "text": ["\n"]},
        {"output_type": "stream", "name": "stdout", "text": ["best step 13000\n"]}]}
    merged = {"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "training\n"},
        {"output_type": "stream", "name": "stderr", "text": "fit: 100%| 9/9 [00:03<00:00, 2.9it/s]\n"},
        {"output_type": "stream", "name": "stdout", "text": "best step 13000\n"}]}
    assert verify._output_texts(split, pats) == verify._output_texts(merged, pats) == [
        "[stderr] fit: 100%| 9/9 [<time>]\n", "[stdout] training\nbest step 13000\n"]
    # where stderr falls between pieces of stdout is thread timing: not compared
    late = {"cell_type": "code", "outputs": [merged["outputs"][0], merged["outputs"][2], merged["outputs"][1]]}
    assert verify._output_texts(late, pats) == verify._output_texts(merged, pats)
    # but a different text in either stream is a difference
    other = {"cell_type": "code", "outputs": [merged["outputs"][0], merged["outputs"][1],
                                              {"output_type": "stream", "name": "stdout", "text": "best step 12500\n"}]}
    assert verify.compare_notebooks({"cells": [merged]}, {"cells": [other]}, 0.0, pats)[1]
    assert verify.compare_notebooks({"cells": [merged]}, {"cells": [split]}, 0.0, pats) == (1, [])
    assert split["outputs"][1]["text"] == ["\rfit: 0%| 0/9 [00:00<?, ?it/s]"]   # the notebook is not changed


def test_sanitize_hides_tensorflow_log_clock_and_pid():
    a = "I0000 00:00:1796363182.187519   31574 port.cc:153] oneDNN custom operations are on."
    b = "I0000 00:00:1796399999.000001    4242 port.cc:153] oneDNN custom operations are on."
    assert _sanitize(a) == _sanitize(b) == "I<time> <pid> port.cc:153] oneDNN custom operations are on."
    e = "E0000 00:00:1796363263.207398   31636 cuda_platform.cc:52] failed call to cuInit"
    assert _sanitize(e) != _sanitize(e.replace("cuInit", "cuCtx"))        # the message is still compared


def test_interrupted_verify_stops_its_kernels_and_writes_nothing(toy, tmp_path):  # noqa: F811
    import signal
    import subprocess
    import sys
    import time
    chains.run("toy", "full", log=lambda m: None)
    record = tmp_path / "results" / "toy" / "full"
    nb = record / "01_make.ipynb"
    nb.write_text(nb.read_text().replace("import matplotlib.pyplot as plt", "import time; time.sleep(60)\\n"
                                                                          "import matplotlib.pyplot as plt"))
    before = {p.name: p.read_bytes() for p in record.iterdir() if p.is_file()}
    p = subprocess.Popen([sys.executable, "-m", "repro", "verify", "toy"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def descendants():
        todo, seen = chains._children(p.pid), []
        while todo:
            pid = todo.pop()
            seen.append(pid)
            todo.extend(chains._children(pid))
        return seen
    for _ in range(600):   # wait until nbval's kernel is busy in the first notebook
        if list(record.parent.glob(".verify-*")) and len(descendants()) >= 2:
            break
        time.sleep(0.1)
    time.sleep(3)
    started = descendants()
    assert len(started) >= 2, started
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode != 0
    assert "Traceback" not in err and "verification interrupted" in err, err
    assert not list(record.parent.glob(".verify-*"))
    assert {p.name: p.read_bytes() for p in record.iterdir() if p.is_file()} == before   # no verification.json

    def running():
        alive = []
        for k in started:
            try:
                state = Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state != "Z":
                alive.append((k, state))
        return alive
    for _ in range(100):   # a killed process may take a moment to exit on a loaded machine
        if not running():
            break
        time.sleep(0.1)
    assert not running()


def test_verify_reads_streams_by_the_rule_the_runner_stored_them_with():
    from repro.chains import _coalesced
    pieces = ["step 1\n", "\rfit 0/9", "\rfit 9/9", "\r        \r", "step 2\n"]   # a bar cleared at its end
    fresh = {"cell_type": "code", "outputs": [{"output_type": "stream", "name": "stdout", "text": [p]} for p in pieces]}
    stored = {"cell_type": "code", "outputs": _coalesced([{"output_type": "stream", "name": "stdout", "text": p}
                                                          for p in pieces])}
    assert stored["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "step 1\nstep 2\n"}]
    assert verify._output_texts(fresh, []) == verify._output_texts(stored, []) == ["[stdout] step 1\nstep 2\n"]


def test_the_banner_names_the_verifying_processor_and_says_when_the_record_was_made_on_another():
    v = {"verified_utc": "2026-12-05T12:00:00Z", "ok": False, "cells_compared": 4, "cells_equal": 3,
         "code": {"commit": "abcdef1234567"}, "machine": {"cpu": "Intel(R) Xeon(R) Processor"},
         "notebooks": [{"notebook": "03_train", "differ": ["Code cell 5: 0.0080 against 0.0128"]}]}
    other = verify.banner_line(v, {"cpu": "AMD EPYC"})
    assert " on Intel(R) Xeon(R) Processor (the record was made on AMD EPYC) " in other
    same = verify.banner_line(v, {"cpu": "Intel(R) Xeon(R) Processor"})
    assert " on Intel(R) Xeon(R) Processor (code at" in same and "record was made" not in same
    assert "record was made" not in verify.banner_line(v)


def test_verify_warns_when_a_tolerance_record_was_made_on_another_processor(tmp_path, monkeypatch):
    from types import SimpleNamespace
    from repro import provenance
    (tmp_path / "provenance.json").write_text(json.dumps({"machine": {"cpu": "AMD EPYC"}}))
    monkeypatch.setattr(provenance, "machine", lambda: {"cpu": "Intel(R) Xeon(R) Processor"})
    tol = SimpleNamespace(tolerance={"03_train": (0.05, "training")})
    line = verify.processor_remark(tmp_path, tol)
    assert "made on AMD EPYC, this machine is Intel(R) Xeon(R) Processor" in line and "03_train" in line
    assert verify.processor_remark(tmp_path, SimpleNamespace(tolerance={})) == ""     # exact chains: no remark
    monkeypatch.setattr(provenance, "machine", lambda: {"cpu": "AMD EPYC"})
    assert verify.processor_remark(tmp_path, tol) == ""                                # same processor
    (tmp_path / "provenance.json").write_text("{not json")
    assert verify.processor_remark(tmp_path, tol) == ""                                # unreadable: no claim made
