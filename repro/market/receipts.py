"""Job receipts signed by compute providers with Ed25519 — our stand-in for SGX attestation.

DataBright has the training run inside an Intel SGX enclave, whose remote attestation lets
the market trust what the enclave reports: which shards were used and how much each was
worth. We have no SGX, so a provider signs a *receipt* with its Ed25519 key (the
``cryptography`` package) and the ledger checks the signature against the public key the
association registered for that provider. A signature proves who vouches for the receipt
and that nobody changed it afterwards; unlike attestation it does not prove that the
provider ran the computation honestly — the provider is trusted.

A receipt's body is canonical JSON (sorted keys, no spaces, no NaN); its id is the sha256 of
that body, so the same receipt always has the same id (the ledger refuses an id it has seen).
"""
from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import ReceiptError

__all__ = ["ProviderKey", "Receipt", "canonical_json", "sign_receipt", "verify_receipt", "public_key_from_hex"]


def canonical_json(obj: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, ASCII, NaN/inf refused."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


class ProviderKey:
    """A provider's Ed25519 signing key.

    ``ProviderKey.from_seed("provider-1/0")`` derives the key from a seed (sha256 of the seed
    as the 32 private bytes) so runs are reproducible; ``ProviderKey.generate()`` draws one
    from the operating system.
    """

    def __init__(self, private: Ed25519PrivateKey):
        self._private = private

    @classmethod
    def generate(cls) -> "ProviderKey":
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: str | bytes | int) -> "ProviderKey":
        raw = seed if isinstance(seed, bytes) else str(seed).encode()
        return cls(Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"repro.market/" + raw).digest()))

    @property
    def public_hex(self) -> str:
        return self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)


def public_key_from_hex(public_hex: str) -> Ed25519PublicKey:
    """The Ed25519 public key from its 64 hex digits (raw 32 bytes)."""
    try:
        raw = bytes.fromhex(public_hex)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError) as exc:
        raise ReceiptError(f"not an Ed25519 public key (64 hex digits): {public_hex!r}") from exc


@dataclass(frozen=True)
class Receipt:
    """What a provider reports about one job, and its signature.

    ``values[i]`` is the value of ``shards[i]`` for the job (its contributors' data value, e.g.
    the sum of its points' KNN-Shapley values); ``metrics`` holds what the buyer gets
    (e.g. accuracy); ``model`` the sha256 of the trained model's parameters.
    """

    job: int
    provider: str
    shards: tuple[str, ...]
    values: tuple[float, ...]
    model: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    nonce: str = ""
    signature: str = ""

    def body(self) -> dict:
        return {"job": int(self.job), "provider": self.provider, "shards": list(self.shards),
                "values": [float(v) for v in self.values], "model": self.model,
                "metrics": {k: float(v) for k, v in self.metrics.items()}, "nonce": self.nonce}

    def message(self) -> bytes:
        """The signed bytes (canonical JSON of the body)."""
        try:
            return canonical_json(self.body())
        except ValueError as exc:
            raise ReceiptError(f"receipt for job {self.job} has a value that is not finite") from exc

    @property
    def id(self) -> str:
        return hashlib.sha256(self.message()).hexdigest()

    def to_json(self) -> str:
        return json.dumps({**self.body(), "signature": self.signature}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Receipt":
        try:
            d = json.loads(text)
            return cls(job=int(d["job"]), provider=str(d["provider"]), shards=tuple(d["shards"]),
                       values=tuple(float(v) for v in d["values"]), model=str(d["model"]),
                       metrics=dict(d.get("metrics", {})), nonce=str(d.get("nonce", "")),
                       signature=str(d.get("signature", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ReceiptError(f"malformed receipt: {exc}") from None

    def replace(self, **changes) -> "Receipt":
        """A copy with some fields changed (the signature is kept: it no longer matches)."""
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d.update(changes)
        return Receipt(**d)


def sign_receipt(key: ProviderKey, *, job: int, provider: str, shards: Sequence[str], values: Sequence[float],
                 model: str, metrics: Mapping[str, float] | None = None, nonce: str | None = None) -> Receipt:
    """Build and sign a receipt. ``nonce`` defaults to 16 random bytes (hex)."""
    if len(shards) != len(values):
        raise ReceiptError(f"receipt for job {job}: {len(shards)} shards but {len(values)} values")
    if len(set(shards)) != len(shards):
        raise ReceiptError(f"receipt for job {job}: a shard is listed twice")
    if not all(math.isfinite(float(v)) for v in values):
        raise ReceiptError(f"receipt for job {job}: values must be finite")
    r = Receipt(job=int(job), provider=str(provider), shards=tuple(shards), values=tuple(float(v) for v in values),
                model=str(model), metrics=dict(metrics or {}),
                nonce=secrets.token_hex(16) if nonce is None else str(nonce))
    return r.replace(signature=key.sign(r.message()).hex())


def verify_receipt(receipt: Receipt, public_hex: str) -> bool:
    """True when ``receipt.signature`` is a valid Ed25519 signature of its body under ``public_hex``."""
    try:
        sig = bytes.fromhex(receipt.signature)
    except (ValueError, TypeError):
        return False
    try:
        public_key_from_hex(public_hex).verify(sig, receipt.message())
    except (InvalidSignature, ReceiptError):
        return False
    return True
