"""The market's scenario: contributors and their shards, the shard store, opening the market.

- :func:`make_contributors` cuts a labelled image set into shards: clean contributors,
  contributors with a share of their labels flipped, and *copiers* who re-upload another
  contributor's shard with every pixel jittered by a grey level or two (so its content hash
  differs);
- :func:`split_validation` keeps disjoint validation sets for the buyers' jobs from the images
  no contributor holds;
- :class:`ShardStore` holds the shards' bytes off the ledger and hash-checks what it returns;
- :func:`open_market` runs the association: genesis, a compute provider and every shard
  proposed, voted on and executed; an exact (re-ordered) copy is refused by content hash.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x, y = rng.integers(0, 256, (300, 4, 4)).astype(np.uint8), rng.integers(0, 3, 300)
>>> cs, shards, rest = make_contributors(x, y, [0.0, 0.5], 50, n_copiers=1, seed=0, n_classes=3)
>>> [(c.name, c.kind, c.n_items, c.source) for c in cs]
[('c0', 'clean', 50, ''), ('c1', 'noisy', 50, ''), ('c2', 'copier', 50, 'c0')]
>>> len(rest), cs[1].clean_fraction
(200, 0.5)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .errors import LedgerError
from .ledger import Ledger, MarketParams, content_hash
from .receipts import ProviderKey

__all__ = ["Contributor", "make_contributors", "split_validation", "shard_features", "ShardStore", "provider_key",
           "open_market", "PROVIDER", "DATASET"]

PROVIDER = "provider-1"
"""The account name of the market's one compute provider."""
DATASET = "mnist-test-idx"
"""The data set every shard is registered under."""


@dataclass
class Contributor:
    """One data contributor: who, what kind, and how clean its labels are.

    Attributes
    ----------
    name : str
        Account name (``c0``, ``c1``, ...).
    kind : str
        ``clean``, ``noisy`` or ``copier``.
    noise : float
        Share of labels flipped on purpose (copiers: that of the copied shard).
    n_items : int
        Items in the shard.
    clean_fraction : float
        Measured share of items whose label is the true one.
    source : str
        Copiers: the contributor copied (else empty).
    shard_hash : str
        :func:`repro.market.ledger.content_hash` of the uploaded shard.
    """

    name: str
    kind: str
    noise: float
    n_items: int
    clean_fraction: float
    source: str = ""
    shard_hash: str = ""


def _flip(y, fraction: float, n_classes: int, rng) -> np.ndarray:
    y = np.array(y, copy=True)
    k = int(round(fraction * len(y)))
    idx = rng.choice(len(y), size=k, replace=False)
    y[idx] = (y[idx] + rng.integers(1, n_classes, size=k)) % n_classes  # always a different class
    return y


def make_contributors(images_u8, labels, noise: Sequence[float], items: int, *, size_spread: float = 0.0,
                      n_copiers: int = 0, jitter_levels: int = 2, seed: int = 0, n_classes: int = 10):
    """Cut a labelled image set into contributors' shards.

    Parameters
    ----------
    images_u8 : ndarray, shape (N, ...), uint8
        The images (their bytes are what is hashed).
    labels : ndarray, shape (N,)
        True labels.
    noise : sequence of float
        Share of flipped labels of each original contributor (0 = clean), in [0, 1].
    items : int
        Mean shard size; sizes are drawn uniformly in ``items * [1 - size_spread, 1 + size_spread]``.
    size_spread : float
        In [0, 1).
    n_copiers : int
        Copiers, each re-uploading the shard of the i-th cleanest contributor (the most
        valuable data) with every pixel moved by a random integer in
        ``[-jitter_levels, jitter_levels]`` grey levels.
    jitter_levels : int
    seed : int
        Seed of every draw: sizes, the split, the label flips, the jitter.
    n_classes : int
        Number of classes (a flipped label is always another class).

    Returns
    -------
    contributors : list of Contributor
    shards : dict
        name -> ``{"x": uint8 images, "y": labels as uploaded, "y_true": true labels,
        "index": source rows}``.
    rest : ndarray
        Indices of the images no contributor holds (for the buyers' validation sets).

    Raises
    ------
    ValueError
        Images not uint8, no contributor, noise out of [0, 1], a bad ``size_spread`` or
        ``n_copiers``, or shards that would leave no image over.
    """
    images_u8 = np.asarray(images_u8)
    labels = np.asarray(labels)
    if images_u8.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (the bytes that are hashed), got {images_u8.dtype}")
    noise = [float(f) for f in noise]
    if not noise:
        raise ValueError("at least one contributor is needed")
    if any(not 0.0 <= f <= 1.0 for f in noise):
        raise ValueError(f"label noise must be in [0, 1], got {noise}")
    if not 0.0 <= size_spread < 1.0:
        raise ValueError(f"size_spread must be in [0, 1), got {size_spread}")
    if n_copiers < 0 or n_copiers > len(noise):
        raise ValueError(f"n_copiers must be in 0..{len(noise)}, got {n_copiers}")
    rng = np.random.default_rng(seed)
    lo, hi = int(round(items * (1 - size_spread))), int(round(items * (1 + size_spread)))
    sizes = rng.integers(max(lo, 1), max(hi, 1) + 1, size=len(noise))
    if sizes.sum() >= len(labels):
        raise ValueError(f"contributors would hold {int(sizes.sum())} of {len(labels)} images: nothing left for buyers")
    perm = rng.permutation(len(labels))
    contributors, shards = [], {}
    start = 0
    width = len(str(len(noise) + n_copiers))
    for i, (f, n) in enumerate(zip(noise, sizes)):
        idx = np.sort(perm[start:start + n])
        start += n
        y_up = _flip(labels[idx], f, n_classes, rng)
        name = f"c{i:0{width}d}"
        shards[name] = {"x": images_u8[idx], "y": y_up, "y_true": labels[idx], "index": idx}
        contributors.append(Contributor(name, "clean" if f == 0 else "noisy", f, int(n),
                                        float(np.mean(y_up == labels[idx]))))
    order = sorted(range(len(noise)), key=lambda j: (noise[j], j))
    for k in range(n_copiers):
        src = contributors[order[k]]
        s = shards[src.name]
        jit = rng.integers(-jitter_levels, jitter_levels + 1, size=s["x"].shape)
        x = np.clip(s["x"].astype(np.int16) + jit, 0, 255).astype(np.uint8)
        name = f"c{len(noise) + k:0{width}d}"
        shards[name] = {"x": x, "y": s["y"].copy(), "y_true": s["y_true"].copy(), "index": s["index"].copy()}
        contributors.append(Contributor(name, "copier", src.noise, src.n_items, src.clean_fraction, source=src.name))
    for c in contributors:
        c.shard_hash = content_hash(shards[c.name]["x"], shards[c.name]["y"])
    return contributors, shards, np.sort(perm[start:])


def split_validation(rest, n_jobs: int, per_job: int, seed: int = 0) -> list[np.ndarray]:
    """Disjoint validation sets, one per job, from the images no contributor holds.

    Parameters
    ----------
    rest : array_like of int
        Image indices no contributor holds (:func:`make_contributors`).
    n_jobs : int
    per_job : int
        Images per validation set.
    seed : int
        Seed of the draw.

    Returns
    -------
    list of ndarray
        ``n_jobs`` sorted index arrays.

    Raises
    ------
    ValueError
        Not enough images left.
    """
    rest = np.asarray(rest)
    if n_jobs * per_job > len(rest):
        raise ValueError(f"{n_jobs} jobs x {per_job} validation images need {n_jobs * per_job}, only {len(rest)} are left")
    perm = np.random.default_rng(seed).permutation(rest)
    return [np.sort(perm[j * per_job:(j + 1) * per_job]) for j in range(n_jobs)]


def shard_features(x_u8) -> np.ndarray:
    """Features the buyers' models see: pixels scaled to [0, 1], flattened.

    Parameters
    ----------
    x_u8 : ndarray, shape (n, ...), uint8

    Returns
    -------
    ndarray, shape (n, d), float64
    """
    x = np.asarray(x_u8)
    return x.reshape(len(x), -1).astype(np.float64) / 255.0


class ShardStore:
    """Where the uploaded shards' bytes live (off the ledger, which holds only their hashes).

    :meth:`get` re-hashes what it returns, so a provider never trains on bytes that differ
    from what the association registered.

    Parameters
    ----------
    shards : mapping
        Contributor name -> ``{"x", "y", ...}`` (:func:`make_contributors`).
    contributors : sequence of Contributor
    """

    def __init__(self, shards: Mapping[str, Mapping[str, np.ndarray]], contributors: Sequence[Contributor]):
        self._by_hash = {c.shard_hash: (shards[c.name]["x"], shards[c.name]["y"]) for c in contributors}

    def get(self, h: str) -> tuple[np.ndarray, np.ndarray]:
        """The images and labels of the shard with content hash ``h``.

        Parameters
        ----------
        h : str

        Returns
        -------
        x, y : ndarray

        Raises
        ------
        repro.market.errors.LedgerError
            Not in the store, or the stored bytes no longer match the hash.
        """
        if h not in self._by_hash:
            raise LedgerError(f"shard {h[:16]}… is not in the store")
        x, y = self._by_hash[h]
        if content_hash(x, y) != h:
            raise LedgerError(f"stored bytes of shard {h[:16]}… do not match its hash")
        return x, y


def provider_key(seed: int, name: str = PROVIDER) -> ProviderKey:
    """The compute provider's signing key, derived from a seed (``"<name>/<seed>"``).

    Parameters
    ----------
    seed : int
    name : str

    Returns
    -------
    repro.market.receipts.ProviderKey
    """
    return ProviderKey.from_seed(f"{name}/{seed}")


def open_market(path, contributors: Sequence[Contributor], shards, *, params: MarketParams,
                members: Mapping[str, int], buyers: Sequence[str], key: ProviderKey,
                exact_copy_of: str | None = None, copy_seed: int = 0) -> dict:
    """Create the ledger and run the association until every shard is registered.

    The founding members register the compute provider (:data:`PROVIDER`, with ``key``'s
    public key) and vote on each shard proposal (every member votes yes: they cannot see label
    quality). When ``exact_copy_of`` names a contributor, a copier tries to upload that shard
    again, re-ordered; the ledger refuses it.

    Parameters
    ----------
    path : str or pathlib.Path
        The ledger file (replaced if it exists).
    contributors : sequence of Contributor
    shards : mapping
        Their shards (:func:`make_contributors`).
    params : repro.market.ledger.MarketParams
    members : mapping
        Founding members -> genesis tokens.
    buyers : sequence of str
        Buyer accounts to open.
    key : repro.market.receipts.ProviderKey
        The compute provider's key (:func:`provider_key`).
    exact_copy_of : str, optional
        The contributor whose shard the exact copier re-uploads.
    copy_seed : int
        Seed of the copy's new order.

    Returns
    -------
    dict
        ``proposals`` (rows), ``status`` (proposal id -> accepted/rejected),
        ``refused_copy`` (None, or what happened to the exact copy), ``head`` and ``n_log``.
    """
    ledger = Ledger.create(path, params, members, overwrite=True)
    try:
        voters = list(members)
        for c in contributors:
            ledger.open_account(c.name, "contributor")
        for b in buyers:
            ledger.open_account(b, "buyer")
        pids = [ledger.propose_provider(voters[0], PROVIDER, key.public_hex)]
        for c in contributors:
            pids.append(ledger.propose_shard(c.name, c.shard_hash, c.n_items, DATASET))
        refused = None
        if exact_copy_of is not None:
            s = shards[exact_copy_of]
            perm = np.random.default_rng(copy_seed).permutation(len(s["y"]))
            h = content_hash(s["x"][perm], s["y"][perm])
            ledger.open_account("copier-exact", "contributor")
            try:
                ledger.propose_shard("copier-exact", h, len(perm), DATASET)
                refused = {"by": "copier-exact", "copy_of": exact_copy_of, "refused": False, "error": ""}
            except LedgerError as exc:
                refused = {"by": "copier-exact", "copy_of": exact_copy_of, "refused": True,
                           "error": f"{type(exc).__name__}: {exc}"}
        for pid in pids:
            for v in voters:
                ledger.vote(pid, v, True)
        ledger.tick(params.debate_period)
        status = {pid: ledger.close_proposal(pid) for pid in pids}
        return {"proposals": ledger.proposals(), "status": status, "refused_copy": refused,
                "head": ledger.head(), "n_log": ledger.head()[0]}
    finally:
        ledger.close()
