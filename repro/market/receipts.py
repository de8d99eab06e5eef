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

Example
-------
>>> key = ProviderKey.from_seed("provider-1/0")
>>> r = sign_receipt(key, job=1, provider="provider-1", shards=["ab" * 32], values=[0.5], model="0" * 64, nonce="n")
>>> verify_receipt(r, key.public_hex), verify_receipt(r.replace(values=(0.9,)), key.public_hex)
(True, False)
>>> Receipt.from_json(r.to_json()) == r
True
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
    """Canonical JSON bytes: sorted keys, no whitespace, ASCII, NaN/inf refused.

    Parameters
    ----------
    obj : object
        JSON-serializable.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        A NaN or infinite float.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


class ProviderKey:
    """A provider's Ed25519 signing key.

    ``ProviderKey.from_seed("provider-1/0")`` derives the key from a seed (sha256 of the seed
    as the 32 private bytes) so runs are reproducible.

    Parameters
    ----------
    private : cryptography.hazmat.primitives.asymmetric.ed25519.Ed25519PrivateKey
    """

    def __init__(self, private: Ed25519PrivateKey):
        self._private = private

    @classmethod
    def from_seed(cls, seed: str | bytes | int) -> "ProviderKey":
        """The key whose 32 private bytes are ``sha256(b"repro.market/" + seed)``.

        Parameters
        ----------
        seed : str, bytes or int

        Returns
        -------
        ProviderKey
        """
        raw = seed if isinstance(seed, bytes) else str(seed).encode()
        return cls(Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"repro.market/" + raw).digest()))

    @property
    def public_hex(self) -> str:
        """The public key as 64 hex digits (what the association registers)."""
        return self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature (64 bytes) of ``message``."""
        return self._private.sign(message)


def public_key_from_hex(public_hex: str) -> Ed25519PublicKey:
    """The Ed25519 public key from its 64 hex digits (raw 32 bytes).

    Parameters
    ----------
    public_hex : str

    Returns
    -------
    cryptography.hazmat.primitives.asymmetric.ed25519.Ed25519PublicKey

    Raises
    ------
    repro.market.errors.ReceiptError
        Not 64 hex digits of a valid key.
    """
    try:
        raw = bytes.fromhex(public_hex)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError) as exc:
        raise ReceiptError(f"not an Ed25519 public key (64 hex digits): {public_hex!r}") from exc


@dataclass(frozen=True)
class Receipt:
    """What a provider reports about one job, and its signature.

    Attributes
    ----------
    job : int
        The job's id on the ledger.
    provider : str
        The provider that signs.
    shards : tuple of str
        The shards used (content hashes).
    values : tuple of float
        ``values[i]`` is the value of ``shards[i]`` for the job (e.g. the sum of its points'
        KNN-Shapley values); finite.
    model : str
        sha256 of the trained model.
    metrics : mapping
        What the buyer gets (e.g. accuracy).
    nonce : str
        Makes two receipts of equal content differ.
    signature : str
        Hex Ed25519 signature of :meth:`message` (empty until signed).
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
        """Every field but the signature, as plain JSON values."""
        return {"job": int(self.job), "provider": self.provider, "shards": list(self.shards),
                "values": [float(v) for v in self.values], "model": self.model,
                "metrics": {k: float(v) for k, v in self.metrics.items()}, "nonce": self.nonce}

    def message(self) -> bytes:
        """The signed bytes (canonical JSON of the body).

        Raises
        ------
        repro.market.errors.ReceiptError
            A value is not finite.
        """
        try:
            return canonical_json(self.body())
        except ValueError as exc:
            raise ReceiptError(f"receipt for job {self.job} has a value that is not finite") from exc

    @property
    def id(self) -> str:
        """sha256 of :meth:`message` (hex): equal bodies, equal ids."""
        return hashlib.sha256(self.message()).hexdigest()

    def to_json(self) -> str:
        """The body and the signature as JSON text (:meth:`from_json` reads it back)."""
        return json.dumps({**self.body(), "signature": self.signature}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Receipt":
        """A receipt from :meth:`to_json`'s text.

        Parameters
        ----------
        text : str

        Returns
        -------
        Receipt

        Raises
        ------
        repro.market.errors.ReceiptError
            Malformed text.
        """
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
    """Build and sign a receipt.

    Parameters
    ----------
    key : ProviderKey
        The provider's key.
    job : int
    provider : str
    shards : sequence of str
        Distinct shard hashes.
    values : sequence of float
        One finite value per shard.
    model : str
        sha256 of the trained model.
    metrics : mapping, optional
    nonce : str, optional
        Defaults to 16 random bytes (hex).

    Returns
    -------
    Receipt
        Signed.

    Raises
    ------
    repro.market.errors.ReceiptError
        Not one value per shard, a shard twice, or a value that is not finite.
    """
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
    """Whether ``receipt.signature`` is a valid Ed25519 signature of its body under ``public_hex``.

    Parameters
    ----------
    receipt : Receipt
    public_hex : str
        The provider's registered public key.

    Returns
    -------
    bool
        False also for a malformed signature or key (it never raises).
    """
    try:
        sig = bytes.fromhex(receipt.signature)
    except (ValueError, TypeError):
        return False
    try:
        public_key_from_hex(public_hex).verify(sig, receipt.message())
    except (InvalidSignature, ReceiptError):
        return False
    return True
