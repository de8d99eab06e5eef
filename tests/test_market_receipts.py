"""Tests of repro.market.receipts: Ed25519-signed job receipts."""
import math

import pytest

from repro.market.errors import ReceiptError
from repro.market.receipts import ProviderKey, Receipt, canonical_json, public_key_from_hex, sign_receipt, verify_receipt

KEY = ProviderKey.from_seed("p")
H = ["a" * 64, "b" * 64]


def _r(**kw):
    args = dict(job=3, provider="prov", shards=H, values=[0.25, -0.5], model="m" * 8, metrics={"accuracy": 0.9}, nonce="n1")
    args.update(kw)
    return sign_receipt(KEY, **args)


def test_sign_verify_roundtrip_and_determinism():
    r = _r()
    assert verify_receipt(r, KEY.public_hex)
    assert r == _r()  # Ed25519 signatures are deterministic; the nonce is fixed here
    assert r.id == _r().id and len(r.id) == 64
    again = Receipt.from_json(r.to_json())
    assert again == r and verify_receipt(again, KEY.public_hex)
    assert ProviderKey.from_seed("p").public_hex == KEY.public_hex != ProviderKey.from_seed("q").public_hex
    assert _r(nonce=None).nonce != _r(nonce=None).nonce  # random nonces by default: distinct receipts


@pytest.mark.parametrize("change", [
    {"job": 4}, {"provider": "other"}, {"shards": tuple(reversed(H))}, {"values": (0.25, -0.49)},
    {"model": "x"}, {"metrics": {"accuracy": 0.95}}, {"nonce": "n2"},
])
def test_any_change_breaks_the_signature(change):
    r = _r()
    assert not verify_receipt(r.replace(**change), KEY.public_hex)


def test_wrong_key_and_malformed_signatures():
    r = _r()
    assert not verify_receipt(r, ProviderKey.from_seed("mallory").public_hex)
    assert not verify_receipt(r.replace(signature="00" * 64), KEY.public_hex)
    assert not verify_receipt(r.replace(signature="not hex"), KEY.public_hex)
    assert not verify_receipt(r, "zz")  # malformed key: not valid, no crash
    with pytest.raises(ReceiptError, match="Ed25519"):
        public_key_from_hex("1234")


def test_receipt_input_errors():
    with pytest.raises(ReceiptError, match="values"):
        _r(values=[1.0])
    with pytest.raises(ReceiptError, match="twice"):
        _r(shards=[H[0], H[0]])
    with pytest.raises(ReceiptError, match="finite"):
        _r(values=[math.nan, 1.0])
    with pytest.raises(ReceiptError, match="malformed"):
        Receipt.from_json('{"job": 1}')
    with pytest.raises(ValueError):
        canonical_json({"x": float("inf")})
    assert canonical_json({"b": 1, "a": [1.5]}) == b'{"a":[1.5],"b":1}'
