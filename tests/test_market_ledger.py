"""Tests of repro.market.ledger: rules, receipts, verification, crash safety, restart, and
hypothesis property tests over random operation sequences."""
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from repro.errors import ReproError
from repro.market import errors
from repro.market.ledger import ESCROW, Ledger, MarketParams, content_hash
from repro.market.receipts import ProviderKey, sign_receipt

KEY = ProviderKey.from_seed("test-provider")


def _h(tag) -> str:
    return hashlib.sha256(str(tag).encode()).hexdigest()


def _market(path=":memory:", params=None, shards=("s1", "s2")):
    """A small market: two members, a provider, two contributors with one shard each, a buyer."""
    params = params or MarketParams(quorum=0.5, debate_period=2, shard_reward=10, provider_fee=0.1, job_ttl=5)
    L = Ledger.create(path, params, {"m1": 60, "m2": 40})
    L.open_account("buyer", "buyer")
    pids = [L.propose_provider("m1", "prov", KEY.public_hex)]
    for i, s in enumerate(shards):
        L.open_account(f"c{i}", "contributor")
        pids.append(L.propose_shard(f"c{i}", _h(s), 10 + i, "test"))
    for p in pids:
        L.vote(p, "m1", True)
    L.tick(params.debate_period)
    assert [L.close_proposal(p) for p in pids] == ["accepted"] * len(pids)
    return L


def _receipt(L, jid, values=None, key=KEY, provider="prov", shards=None):
    job = L.job(jid)
    shards = job["shards"] if shards is None else shards
    return sign_receipt(key, job=jid, provider=provider, shards=shards,
                        values=values if values is not None else [1.0] * len(shards), model="0" * 64, nonce="n")


# ----------------------------------------------------------------------------- basics
def test_genesis_accounts_and_minting_rules():
    L = _market()
    assert L.balances() == {ESCROW: 0, "buyer": 0, "c0": 10, "c1": 10, "m1": 60, "m2": 40, "prov": 0}
    assert L.minted() == 120 and L.check_invariants() == []
    L.deposit("buyer", 50)
    assert L.minted() == 170
    L.transfer("m1", "m2", 10)
    assert (L.balance("m1"), L.balance("m2")) == (50, 50)
    with pytest.raises(errors.InsufficientFunds):
        L.transfer("c0", "m1", 11)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(errors.LedgerError):
            L.transfer("m1", "m2", bad)
    with pytest.raises(errors.UnknownAccount):
        L.transfer("nobody", "m1", 1)
    with pytest.raises(errors.LedgerError, match="'@'"):
        L.open_account("@escrow", "member")
    with pytest.raises(errors.LedgerError, match="already exists"):
        L.open_account("m1", "member")
    with pytest.raises(errors.LedgerError, match="kind"):
        L.open_account("x", "admin")
    with pytest.raises(errors.LedgerError, match="forward"):
        L.tick(0)
    assert L.verify().ok


def test_content_hash_is_order_independent_and_content_sensitive():
    x = np.arange(24, dtype=np.uint8).reshape(6, 4)
    y = np.array([0, 1, 2, 0, 1, 2])
    h = content_hash(x, y)
    perm = np.array([3, 1, 5, 0, 2, 4])
    assert content_hash(x[perm], y[perm]) == h
    x2 = x.copy()
    x2[0, 0] += 1
    assert content_hash(x2, y) != h
    y2 = y.copy()
    y2[0] = 9
    assert content_hash(x, y2) != h
    assert content_hash(x.astype(np.int16), y) != h  # dtype is part of the content
    with pytest.raises(ValueError):
        content_hash(x, y[:-1])


def test_proposals_quorum_deadline_and_one_vote():
    L = Ledger.create(":memory:", MarketParams(quorum=0.5, debate_period=3), {"a": 30, "b": 30, "c": 40})
    L.open_account("cur", "contributor")
    p = L.propose_shard("cur", _h(1), 5, "d")
    assert L.vote(p, "a", True) == 30
    with pytest.raises(errors.VoteError, match="once"):
        L.vote(p, "a", False)
    with pytest.raises(errors.ProposalError, match="debated until"):
        L.close_proposal(p)
    L.tick(3)
    with pytest.raises(errors.VoteError, match="debating period"):
        L.vote(p, "b", True)
    assert L.close_proposal(p) == "rejected"  # 30 of 100 voted: no quorum
    assert L.shards() == []
    with pytest.raises(errors.ProposalError, match="already rejected"):
        L.close_proposal(p)
    q = L.propose_shard("cur", _h(1), 5, "d")  # may be proposed again after a rejection
    L.vote(q, "a", True)
    L.vote(q, "b", False)
    L.vote(q, "c", True)
    L.tick(3)
    assert L.close_proposal(q) == "accepted"
    assert L.shard(_h(1))["curator"] == "cur" and L.balance("cur") == 10
    r = L.propose_shard("cur", _h(2), 5, "d")
    L.vote(r, "a", True)
    L.vote(r, "c", False)
    L.tick(3)
    assert L.close_proposal(r) == "rejected"  # quorum, but no majority
    with pytest.raises(errors.DuplicateShard, match="already registered"):
        L.propose_shard("a", _h(1), 5, "d")
    L.propose_shard("a", _h(3), 5, "d")
    with pytest.raises(errors.DuplicateShard, match="already proposed"):
        L.propose_shard("cur", _h(3), 5, "d")
    with pytest.raises(errors.LedgerError, match="sha256"):
        L.propose_shard("a", "not-a-hash", 5, "d")
    assert L.verify().ok and L.check_invariants() == []


def test_snapshot_stops_borrowed_tokens_voting_twice():
    L = Ledger.create(":memory:", MarketParams(quorum=0.5), {"a": 60, "b": 40})
    L.open_account("mallory", "contributor")
    p = L.propose_shard("mallory", _h("x"), 1, "d")
    L.vote(p, "a", True)
    L.transfer("a", "mallory", 60)
    with pytest.raises(errors.VoteError, match="no tokens when proposal"):
        L.vote(p, "mallory", True)
    L.transfer("mallory", "b", 60)  # b now holds 100, but its snapshot weight stays 40
    assert L.vote(p, "b", False) == 40
    prop = L.proposal(p)
    assert (prop["yes"], prop["no"], prop["supply"]) == (60, 40, 100)


def test_job_settlement_pays_once_by_value():
    L = _market()
    L.deposit("buyer", 1000)
    jid = L.submit_job("buyer", "prov", [_h("s1"), _h("s2")], 1000)
    assert L.balance(ESCROW) == 1000 and L.check_invariants() == []
    paid = L.settle(_receipt(L, jid, values=[3.0, 1.0]))
    assert paid == {"prov": 100, "c0": 675, "c1": 225}
    assert L.balance(ESCROW) == 0 and L.job(jid)["status"] == "settled"
    with pytest.raises(errors.ReplayedReceipt):
        L.settle(_receipt(L, jid, values=[3.0, 1.0]))  # same receipt
    with pytest.raises(errors.ReplayedReceipt, match="pays once"):
        L.settle(_receipt(L, jid, values=[1.0, 3.0]))  # a new receipt for a settled job
    assert sum(p["amount"] for p in L.payments(jid)) == 1000
    assert L.verify().ok and L.check_invariants() == []


def test_negative_values_earn_nothing_and_all_negative_split_equally():
    L = _market()
    L.deposit("buyer", 200)
    j1 = L.submit_job("buyer", "prov", [_h("s1"), _h("s2")], 100)
    assert L.settle(_receipt(L, j1, values=[0.5, -0.2])) == {"prov": 10, "c0": 90}
    j2 = L.submit_job("buyer", "prov", [_h("s1"), _h("s2")], 100)
    assert L.settle(_receipt(L, j2, values=[-0.5, -0.2])) == {"prov": 10, "c0": 45, "c1": 45}


def test_bad_receipts_are_rejected_and_pay_nothing():
    L = _market()
    L.deposit("buyer", 100)
    jid = L.submit_job("buyer", "prov", [_h("s1"), _h("s2")], 100)
    before = L.state_digest()
    bad = [
        (errors.BadSignature, _receipt(L, jid, key=ProviderKey.from_seed("mallory"))),
        (errors.BadSignature, _receipt(L, jid).replace(values=(5.0, 1.0))),
        (errors.UnknownShard, _receipt(L, jid, shards=[_h("s1"), _h("never")])),
        (errors.ReceiptError, _receipt(L, jid, shards=[_h("s1")], values=[1.0])),
        (errors.UnknownAccount, _receipt(L, jid, provider="m1")),
        (errors.JobError, _receipt(L, jid).replace(job=99)),
        (errors.BadSignature, _receipt(L, jid).replace(signature="zz")),
    ]
    for exc, r in bad:
        with pytest.raises(exc):
            L.settle(r)
        assert L.state_digest() == before
    assert L.balance("c0") == 10 and L.payments() == []
    assert L.settle(_receipt(L, jid))  # the genuine one still works


def test_submit_job_checks_and_refund():
    L = _market()
    L.deposit("buyer", 100)
    with pytest.raises(errors.UnknownShard):
        L.submit_job("buyer", "prov", [_h("nope")], 10)
    with pytest.raises(errors.InsufficientFunds):
        L.submit_job("buyer", "prov", [_h("s1")], 101)
    with pytest.raises(errors.UnknownAccount, match="provider"):
        L.submit_job("buyer", "m1", [_h("s1")], 10)
    with pytest.raises(errors.JobError, match="distinct"):
        L.submit_job("buyer", "prov", [_h("s1"), _h("s1")], 10)
    jid = L.submit_job("buyer", "prov", [_h("s1")], 60)
    with pytest.raises(errors.JobError, match="refunded from"):
        L.refund(jid)
    L.tick(5)
    assert L.refund(jid) == 60 and L.balance("buyer") == 100
    with pytest.raises(errors.JobError, match="refunded"):
        L.refund(jid)
    with pytest.raises(errors.ReplayedReceipt):
        L.settle(_receipt(L, jid))  # a refunded job cannot be paid too
    assert L.verify().ok and L.check_invariants() == []


# ----------------------------------------------------------------------- verification
def _edit(path, sql, args=()):
    con = sqlite3.connect(str(path))
    con.execute(sql, args)
    con.commit()
    con.close()


@pytest.fixture
def settled(tmp_path):
    path = tmp_path / "ledger.sqlite"
    L = _market(path)
    L.deposit("buyer", 100)
    jid = L.submit_job("buyer", "prov", [_h("s1"), _h("s2")], 100)
    L.settle(_receipt(L, jid, values=[2.0, 1.0]))
    head = L.head()
    L.close()
    return path, head


@pytest.mark.parametrize("table,sql", [
    ("accounts", "UPDATE accounts SET balance = balance + 1 WHERE name = 'c0'"),
    ("shards", "UPDATE shards SET curator = 'm1' WHERE curator = 'c0'"),
    ("votes", "DELETE FROM votes WHERE voter = 'm1' AND proposal = 2"),
    ("proposals", "UPDATE proposals SET yes = 0 WHERE id = 1"),
    ("snapshots", "UPDATE snapshots SET balance = 999 WHERE account = 'm2'"),
    ("payments", "UPDATE payments SET amount = amount + 5 WHERE account = 'c1'"),
    ("jobs", "UPDATE jobs SET status = 'open'"),
    ("receipts", "UPDATE receipts SET provider = 'm1'"),
    ("providers", "UPDATE providers SET public_key = 'aa'"),
    ("meta", "UPDATE meta SET value = '999' WHERE key = 'minted'"),
    ("log", "UPDATE log SET event = replace(event, '\"amount\":60', '\"amount\":61') WHERE seq = 3"),
    ("log", "DELETE FROM log WHERE seq = 5"),
])
def test_verify_finds_any_edited_row(settled, table, sql):
    path, _ = settled
    with Ledger.open(path) as L:
        assert L.verify().ok
    _edit(path, sql)
    with Ledger.open(path) as L:
        r = L.verify()
    assert not r.ok, f"edit of {table} not found"


def test_verify_with_published_head_finds_truncation(settled):
    path, head = settled
    _edit(path, "DELETE FROM log WHERE seq = (SELECT MAX(seq) FROM log)")
    with Ledger.open(path) as L:
        assert not L.verify().ok  # the state no longer matches the shorter log
        r = L.verify(anchor=head)
    assert any("published head" in p for p in r.problems)


def test_open_errors(tmp_path):
    with pytest.raises(errors.LedgerFileError, match="no ledger file"):
        Ledger.open(tmp_path / "missing.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(errors.LedgerFileError):
        Ledger.open(junk)
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(str(other))
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    with pytest.raises(errors.LedgerFileError, match="not a market ledger"):
        Ledger.open(other)
    L = Ledger.create(tmp_path / "l.sqlite", members={"a": 1})
    L.close()
    with pytest.raises(errors.LedgerFileError, match="already exists"):
        Ledger.create(tmp_path / "l.sqlite")
    assert issubclass(errors.LedgerFileError, ReproError)
    with pytest.raises(errors.LedgerError, match="quorum"):
        Ledger.create(tmp_path / "q.sqlite", MarketParams(quorum=0))


# --------------------------------------------------------------------- crash and restart
def _crash_at(k):
    def fault(n):
        if n == k:
            raise RuntimeError(f"crash after event {k}")
    return fault


def test_exception_between_two_writes_rolls_back():
    L = _market()
    L.deposit("buyer", 100)
    jid = L.submit_job("buyer", "prov", [_h("s1"), _h("s2")], 100)
    receipt = _receipt(L, jid, values=[2.0, 1.0])
    before = L.state_digest()
    # settle writes: the receipt, the provider's fee, each dividend, the job status
    for k in (1, 2, 3, 4):
        L.fault = _crash_at(k)
        with pytest.raises(RuntimeError):
            L.settle(receipt)
        L.fault = None
        assert L.state_digest() == before
        assert L.check_invariants() == [] and L.verify().ok
    pid = L.propose_shard("c0", _h("z"), 1, "d")
    L.vote(pid, "m1", True)
    L.tick(2)
    before = L.state_digest()
    L.fault = _crash_at(2)  # after closing the proposal, before registering the shard
    with pytest.raises(RuntimeError):
        L.close_proposal(pid)
    L.fault = None
    assert L.state_digest() == before and L.proposal(pid)["status"] == "open"
    assert L.close_proposal(pid) == "accepted" and L.settle(receipt)["prov"] == 10
    assert L.check_invariants() == [] and L.verify().ok


SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from repro.market.ledger import Ledger
    L = Ledger.open(sys.argv[1])
    def kill(n):
        if n == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
    L.fault = kill
    L.transfer("m1", "c0", 7) if sys.argv[3] == "transfer" else L.settle(__import__("pickle").loads(bytes.fromhex(sys.argv[4])))
""")


def _child(*args):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-c", SCRIPT, *map(str, args)], capture_output=True, text=True, env=env, timeout=120)


def test_killed_process_leaves_ledger_consistent(tmp_path):
    import pickle

    path = tmp_path / "ledger.sqlite"
    L = _market(path)
    L.deposit("buyer", 100)
    jid = L.submit_job("buyer", "prov", [_h("s1"), _h("s2")], 100)
    receipt = _receipt(L, jid, values=[2.0, 1.0])
    before = L.state_digest()
    L.close()
    # killed inside a transfer (after its only event: nothing is half-applied in SQL, but the
    # transaction is open) and inside a settlement, after the receipt and the first payment
    for args in (("1", "transfer", ""), ("2", "settle", pickle.dumps(receipt).hex())):
        out = _child(path, *args)
        assert out.returncode == -9, out.stderr
        with Ledger.open(path) as L:
            assert L.state_digest() == before
            assert L.verify().ok and L.check_invariants() == []
    with Ledger.open(path) as L:  # and the ledger still works
        assert L.settle(receipt)["prov"] == 10
        assert L.verify().ok


def test_ledger_survives_restart_in_a_new_process(tmp_path):
    path = tmp_path / "ledger.sqlite"
    L = _market(path)
    L.deposit("buyer", 100)
    jid = L.submit_job("buyer", "prov", [_h("s1"), _h("s2")], 100)
    L.settle(_receipt(L, jid, values=[2.0, 1.0]))
    digest, head, bal = L.state_digest(), L.head(), L.balances()
    L.close()
    code = ("import json, sys; from repro.market.ledger import Ledger; L = Ledger.open(sys.argv[1]); "
            "L.deposit('buyer', 5); print(json.dumps({'ok': L.verify().ok, 'bal': L.balances()}))")
    from repro.market.audit import restart_check
    again = restart_check(path)
    assert again["digest"] == digest and tuple(again["head"]) == head and again["ok"] and again["balances"] == bal
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    res = json.loads(out.stdout)
    assert res["ok"] and res["bal"]["buyer"] == bal["buyer"] + 5
    with Ledger.open(path) as L:  # the other process's write is here
        assert L.balance("buyer") == bal["buyer"] + 5 and L.verify(anchor=head).ok


# ---------------------------------------------------------------- property-based tests
ACCOUNTS = ["m1", "m2", "c0", "c1", "buyer", "prov"]


class MarketMachine(RuleBasedStateMachine):
    """Random sequences of operations, valid or not; after every step the invariants hold."""

    def __init__(self):
        super().__init__()
        self.L = _market()
        self.L.deposit("buyer", 300)
        self.settled = {}  # receipt id -> job
        self.votes = set()
        self.receipts = []

    def _try(self, fn, *a):
        before = self.L.state_digest()
        try:
            return fn(*a)
        except errors.LedgerError:
            assert self.L.state_digest() == before, "a refused operation changed the ledger"
            return None

    @rule(src=st.sampled_from(ACCOUNTS), dst=st.sampled_from(ACCOUNTS), amount=st.integers(-5, 80))
    def transfer(self, src, dst, amount):
        self._try(self.L.transfer, src, dst, amount)

    @rule(who=st.sampled_from(ACCOUNTS), amount=st.integers(-5, 200))
    def deposit(self, who, amount):
        before = self.L.minted()
        self._try(self.L.deposit, who, amount)
        assert self.L.minted() - before in (0, amount)

    @rule(n=st.integers(1, 3))
    def tick(self, n):
        self.L.tick(n)

    @rule(who=st.sampled_from(ACCOUNTS), tag=st.integers(0, 6))
    def propose(self, who, tag):
        self._try(self.L.propose_shard, who, _h(f"p{tag}"), 3, "d")

    @rule(pid=st.integers(1, 12), voter=st.sampled_from(ACCOUNTS), support=st.booleans())
    def vote(self, pid, voter, support):
        w = self._try(self.L.vote, pid, voter, support)
        if w is not None:
            assert (pid, voter) not in self.votes, "a second vote was counted"
            self.votes.add((pid, voter))

    @rule(pid=st.integers(1, 12))
    def close(self, pid):
        self._try(self.L.close_proposal, pid)

    @rule(price=st.integers(0, 150), which=st.sampled_from([["s1"], ["s1", "s2"], ["s1", "s2"], ["zz"]]))
    def job(self, price, which):
        self._try(self.L.submit_job, "buyer", "prov", [_h(s) for s in which], price)

    @precondition(lambda self: self.L.jobs())
    @rule(pick=st.integers(0, 20), values=st.lists(st.floats(-2, 2), min_size=2, max_size=2),
          forge=st.booleans())
    def settle(self, pick, values, forge):
        jobs = self.L.jobs()
        job = jobs[pick % len(jobs)]
        jid = job["id"]
        key = ProviderKey.from_seed("mallory") if forge else KEY
        r = sign_receipt(key, job=jid, provider="prov", shards=job["shards"], values=values[:len(job["shards"])],
                         model="m", nonce="x")
        self.receipts.append(r)
        before = {a: self.L.balance(a) for a in ACCOUNTS}
        paid = self._try(self.L.settle, r)
        if paid is not None:
            assert not forge, "a forged receipt was paid"
            assert jid not in self.settled.values(), "a job was paid twice"
            self.settled[r.id] = jid
            assert sum(paid.values()) == job["price"]
        else:
            assert {a: self.L.balance(a) for a in ACCOUNTS} == before

    @precondition(lambda self: self.receipts)
    @rule(i=st.integers(0, 50))
    def replay(self, i):
        r = self.receipts[i % len(self.receipts)]
        if r.id in self.settled:
            with pytest.raises(errors.ReplayedReceipt):
                self.L.settle(r)

    @precondition(lambda self: self.L.jobs())
    @rule(pick=st.integers(0, 20))
    def refund(self, pick):
        jobs = self.L.jobs()
        self._try(self.L.refund, jobs[pick % len(jobs)]["id"])

    @invariant()
    def books_balance(self):
        assert self.L.check_invariants() == []
        bal = self.L.balances()
        assert all(b >= 0 for b in bal.values())
        assert sum(bal.values()) == self.L.minted()

    @invariant()
    def minted_only_by_rules(self):
        reasons = {e["event"]["reason"] for e in self.L.log() if e["event"]["type"] == "mint"}
        assert reasons <= {"genesis", "deposit", "shard_reward"}

    @invariant()
    def one_vote_each(self):
        votes = self.L.votes()
        assert len({(v["proposal"], v["voter"]) for v in votes}) == len(votes)

    def teardown(self):
        assert self.L.verify().ok
        self.L.close()


MarketMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
TestMarketProperties = MarketMachine.TestCase
