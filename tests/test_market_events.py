"""repro.market.events: the public state machine replays a ledger's log to the same state."""
import json
import sqlite3

import pytest

from repro.market import events
from repro.market.errors import LedgerError
from repro.market.ledger import Ledger, MarketParams
from repro.market.receipts import ProviderKey, sign_receipt


def _ledger(path):
    key = ProviderKey.from_seed("events")
    L = Ledger.create(path, MarketParams(debate_period=1), {"m1": 100})
    L.open_account("c0")
    L.open_account("b", "buyer")
    pids = [L.propose_provider("m1", "prov", key.public_hex), L.propose_shard("c0", "ab" * 32, 5, "toy")]
    for p in pids:
        L.vote(p, "m1", True)
    L.tick()
    for p in pids:
        L.close_proposal(p)
    L.deposit("b", 50)
    jid = L.submit_job("b", "prov", ["ab" * 32], 50)
    L.settle(sign_receipt(key, job=jid, provider="prov", shards=["ab" * 32], values=[1.0], model="0" * 64))
    return L


def test_replay_and_hash_chain_reproduce_the_ledger(tmp_path):
    with _ledger(tmp_path / "l.sqlite") as L:
        log, head, minted = L.log(), L.head(), L.minted()
    live = events.connect(str(tmp_path / "l.sqlite"))
    mem = sqlite3.connect(":memory:", isolation_level=None)
    mem.executescript(events.SCHEMA)
    prev = events.GENESIS_HASH
    for e in log:
        events.apply_event(mem, e["event"])
        assert events.entry_hash(prev, e["seq"], e["tx"], e["clock"], events.event_text(e["event"])) == e["hash"]
        prev = e["hash"]
    assert prev == head[1]
    for t in events.STATE_TABLES:
        assert events.dump_table(mem, t) == events.dump_table(live, t), t
    assert events.read_meta(mem, "minted") == minted and events.read_meta(mem, "nothing") is None


def test_event_text_is_canonical_and_unknown_events_fail():
    assert events.event_text({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert json.loads(events.event_text({"type": "tick", "clock": 3})) == {"type": "tick", "clock": 3}
    mem = sqlite3.connect(":memory:", isolation_level=None)
    mem.executescript(events.SCHEMA)
    with pytest.raises(LedgerError, match="unknown event"):
        events.apply_event(mem, {"type": "steal"})


def test_payout_rule():
    fee, div = events.payout(101, 0.1, ["h1", "h2", "h3"], [2.0, 1.0, -1.0], {"h1": "a", "h2": "b", "h3": "a"})
    assert fee == 10 and div == {"a": 61, "b": 30} and fee + sum(div.values()) == 101
    with pytest.raises(KeyError):
        events.payout(10, 0.0, ["h9"], [1.0], {})
