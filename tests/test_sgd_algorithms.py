"""Tests of repro.sgd.algorithms: update rules, convergence on a known optimum, the driver."""
import numpy as np
import pytest

from repro.sgd import algorithms as al
from repro.sgd import partition as pt
from repro.sgd import topology as tp
from repro.sgd.compress import Identity, StochasticQuantizer
from repro.sgd.models import LogisticRegression

N_WORKERS = 8
RING, _ = tp.fix_for_d2(tp.mixing_matrix(tp.ring(N_WORKERS)))


# ------------------------------------------------------------- a quadratic with a known optimum
# f_i(x) = 1/2 (x - c_i)^T diag(h_i) (x - c_i); the optimum of (1/n) sum_i f_i is
# x* = sum_i h_i c_i / sum_i h_i (coordinate-wise). Exact gradients: no sampling noise.
def quadratic(spread, seed=1, d=5):
    rng = np.random.default_rng(seed)
    h = rng.uniform(0.5, 2.0, (N_WORKERS, d))
    c = spread * rng.standard_normal((N_WORKERS, d))
    return h, c, (h * c).sum(0) / h.sum(0)


def run_quadratic(name, h, c, schedule, n_steps, compressor=None, seed=0):
    algo = al.make_algorithm(name, W=RING, compressor=compressor)
    X0 = np.random.default_rng(seed + 100).standard_normal(h.shape)
    if algo.communication == "allreduce":
        X0[:] = X0[0]
    algo.init(X0)
    rng = np.random.default_rng(seed)
    for t in range(n_steps):
        algo.step(h * (algo.X - c), schedule(t), rng)
    return algo.X, al.consensus_distance(X0)


@pytest.mark.parametrize("name,bits", [("allreduce", None), ("qsgd_allreduce", 8), ("dpsgd", None),
                                       ("d2", None), ("dcd", 8), ("ecd", 8), ("naive_quantized", 8)])
def test_every_algorithm_converges_to_the_optimum_of_the_average(name, bits):
    h, c, xstar = quadratic(spread=0.5)
    comp = StochasticQuantizer(bits) if bits else None
    X, start_consensus = run_quadratic(name, h, c, al.lr_schedule("inv", 0.3, tau=50), 3000, comp)
    assert np.abs(X - xstar).max() < 0.03
    if name not in ("allreduce", "qsgd_allreduce"):
        assert al.consensus_distance(X) < 1e-3 * start_consensus


def test_d2_is_exact_with_a_constant_step_while_dpsgd_is_biased():
    h, c, xstar = quadratic(spread=3.0)
    const = al.lr_schedule("constant", 0.2)
    X_d2, _ = run_quadratic("d2", h, c, const, 2000)
    X_dp, _ = run_quadratic("dpsgd", h, c, const, 2000)
    assert np.abs(X_d2 - xstar).max() < 1e-8
    assert np.abs(X_dp - xstar).max() > 0.1  # D-PSGD's fixed point depends on the data spread


def test_naive_quantization_accumulates_error_but_dcd_does_not():
    h, c, xstar = quadratic(spread=0.5)
    sched = al.lr_schedule("inv", 0.3, tau=50)
    err = {}
    for name in ("dcd", "naive_quantized"):
        X, _ = run_quadratic(name, h, c, sched, 3000, StochasticQuantizer(2))
        err[name] = np.abs(X - xstar).max()
    assert err["naive_quantized"] > 3 * err["dcd"]


def test_compressed_algorithms_with_identity_reduce_to_their_base():
    rng = np.random.default_rng(0)
    X, G = rng.standard_normal((2, N_WORKERS, 4))
    base = al.dpsgd_step(X, G, RING, 0.1)
    assert np.allclose(al.dcd_step(X, G, RING, 0.1, Identity(), rng), base)
    assert np.allclose(al.naive_quantized_step(X, G, RING, 0.1, Identity(), rng), base)
    Xn, Y = al.ecd_step(X, X.copy(), G, RING, 0.1, 1, Identity(), rng)
    assert np.allclose(Xn, base) and np.allclose(Y, Xn)
    Xn2, Y2 = al.ecd_step(Xn, Y, G, RING, 0.1, 2, Identity(), rng)
    assert np.allclose(Xn2, al.dpsgd_step(Xn, G, RING, 0.1)) and np.allclose(Y2, Xn2)
    assert np.allclose(al.qsgd_allreduce_step(X, G, 0.1, Identity(), rng), al.allreduce_step(X, G, 0.1))


def test_d2_update_rule_by_hand():
    rng = np.random.default_rng(1)
    X0, G0, G1 = rng.standard_normal((3, N_WORKERS, 3))
    X1 = al.d2_step(X0, None, G0, None, RING, 0.1)
    assert np.allclose(X1, RING @ (X0 - 0.1 * G0))
    X2 = al.d2_step(X1, X0, G1, G0, RING, 0.05, 0.1)
    assert np.allclose(X2, RING @ (2 * X1 - X0 - 0.05 * G1 + 0.1 * G0))
    # the average follows plain SGD on the average gradient (W is doubly stochastic)
    assert np.allclose(X2.mean(0), 2 * X1.mean(0) - X0.mean(0) - 0.05 * G1.mean(0) + 0.1 * G0.mean(0))


def test_make_algorithm_errors():
    with pytest.raises(ValueError, match="unknown algorithm 'adam'"):
        al.make_algorithm("adam")
    with pytest.raises(ValueError, match="needs a mixing matrix"):
        al.make_algorithm("dpsgd")
    with pytest.raises(ValueError, match="doubly stochastic"):
        al.make_algorithm("dpsgd", W=np.full((3, 3), 0.5))
    with pytest.raises(ValueError, match="fix_for_d2"):
        al.make_algorithm("d2", W=tp.mixing_matrix(tp.ring(8)))
    with pytest.raises(ValueError, match="compressor"):
        al.make_algorithm("dcd", W=RING)
    with pytest.raises(ValueError, match="schedule"):
        al.lr_schedule("cosine", 0.1)
    assert al.lr_schedule("step", 1.0, decay=0.5, milestones=[10, 20])(15) == 0.5


# ----------------------------------------------------------------- the driver on a classifier
@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    c, p, n = 10, 20, 4000
    y = rng.integers(0, c, n)
    F = 1.5 * rng.standard_normal((c, p))[y] + rng.standard_normal((n, p))
    return F, y, LogisticRegression(p, c, l2=1e-2)


def run(blobs, name, shards, seed=0, n_steps=400, **kw):
    F, y, m = blobs
    kw.setdefault("compressor", StochasticQuantizer(8))
    return al.simulate(name, m, F, y, shards, n_steps=n_steps, batch_size=16, lr=0.5, seed=seed,
                       W=RING, eval_every=50, **kw)


def test_d2_beats_dpsgd_on_label_skewed_data(blobs):
    F, y, _ = blobs
    skew = pt.partition_label_skew(y, N_WORKERS, 2, rng=1)
    h = {a: run(blobs, a, skew) for a in ("allreduce", "dpsgd", "d2")}
    final = {a: h[a]["train_loss"][-1] for a in h}
    assert final["d2"] < final["dpsgd"] - 0.005
    assert final["d2"] == pytest.approx(final["allreduce"], rel=0.02)  # D2 behaves like centralized SGD
    assert h["d2"]["consensus"][-1] < h["dpsgd"]["consensus"][-1]
    # with iid data the two are alike
    iid = pt.partition_iid(len(y), N_WORKERS, rng=1)
    assert run(blobs, "d2", iid)["train_loss"][-1] == pytest.approx(run(blobs, "dpsgd", iid)["train_loss"][-1],
                                                                       rel=0.01)


def test_dcd_and_ecd_at_8_bits_track_full_precision_dpsgd(blobs):
    F, y, _ = blobs
    skew = pt.partition_label_skew(y, N_WORKERS, 2, rng=1)
    ref = run(blobs, "dpsgd", skew)["train_loss"]
    for name in ("dcd", "ecd"):
        loss = run(blobs, name, skew)["train_loss"]
        assert np.allclose(loss[1:], ref[1:], rtol=0.02)


def test_simulate_is_reproducible_and_records_everything(blobs):
    F, y, m = blobs
    shards = pt.partition_dirichlet(y, N_WORKERS, 0.5, rng=2, min_size=16)
    test = (F[:200], y[:200])
    a = run(blobs, "dcd", shards, seed=3, n_steps=100, eval_sets={"test": test})
    b = run(blobs, "dcd", shards, seed=3, n_steps=100, eval_sets={"test": test})
    c = run(blobs, "dcd", shards, seed=4, n_steps=100, eval_sets={"test": test})
    assert set(a.metrics) == {"train_loss", "train_acc", "consensus", "test_loss", "test_acc"}
    for k in a.metrics:
        assert np.array_equal(a[k], b[k])
    assert np.array_equal(a.final_X, b.final_X) and not np.array_equal(a.final_X, c.final_X)
    assert list(a.steps) == [0, 50, 100] and a.epochs[-1] == pytest.approx(100 * N_WORKERS * 16 / len(y))
    assert a["train_loss"][0] == pytest.approx(np.log(10)) and a["train_acc"][-1] > 0.5
    assert a.message_bits == 8 * m.dim + 32 and a.communication == "gossip"
    d = a.to_dict()
    assert d["metrics"]["test_acc"] == list(a["test_acc"]) and "final_X" not in d


def test_simulate_detects_divergence_and_bad_arguments(blobs):
    F, y, m = blobs
    iid = pt.partition_iid(len(y), N_WORKERS, rng=0)
    h = al.simulate("dpsgd", m, F, y, iid, n_steps=200, batch_size=8, lr=1e5, seed=0, W=RING)
    assert h.diverged and len(h.steps) < 200
    with pytest.raises(ValueError, match="batch_size"):
        al.simulate("dpsgd", m, F, y, iid, n_steps=10, batch_size=10_000, lr=0.1, seed=0, W=RING)
    with pytest.raises(ValueError, match="n_steps"):
        al.simulate("dpsgd", m, F, y, iid, n_steps=0, batch_size=8, lr=0.1, seed=0, W=RING)
    with pytest.raises(ValueError, match="W is 8x8"):
        al.simulate("dpsgd", m, F, y, iid[:4], n_steps=10, batch_size=8, lr=0.1, seed=0, W=RING)


# ------------------------------------------------------------ gossip products and float32 state
def _mixing_cases():
    return {"ring8 (dense)": tp.mixing_matrix(tp.ring(8)),
            "ring32 (sparse, banded)": tp.mixing_matrix(tp.ring(32)),
            "ring37 (sparse, banded)": tp.fix_for_d2(tp.mixing_matrix(tp.ring(37)))[0],
            "torus4x8 (sparse, banded)": tp.mixing_matrix(tp.torus(4, 8)),
            "regular40 (sparse)": tp.mixing_matrix(tp.random_regular(40, 4, rng=3)),
            "complete16 (dense)": tp.mixing_matrix(tp.complete(16))}


@pytest.mark.parametrize("case", list(_mixing_cases()))
@pytest.mark.parametrize("gossip", al.GOSSIP)
@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-13), (np.float32, 3e-6)])
def test_mixer_gives_the_plain_matrix_product(case, gossip, dtype, rtol):
    W = _mixing_cases()[case]
    X = np.random.default_rng(5).standard_normal((W.shape[0], 37))
    golden = W @ X  # dense float64 product
    mix = al._mixer(W, dtype, gossip, d=37)
    got = mix @ X.astype(dtype)
    assert got.dtype == dtype and got.shape == X.shape and got.flags.c_contiguous
    np.testing.assert_allclose(got, golden, rtol=rtol, atol=rtol * np.abs(X).max())
    # which product: dense for small or dense W; CSR for a sparse W, unless "blocked" and banded
    kind = "dense" if "dense" in case else "blocked" if gossip == "blocked" and "banded" in case else "csr"
    assert {"dense": np.ndarray, "csr": type(al._mixer(tp.mixing_matrix(tp.ring(32)))),
            "blocked": al.BlockedGossip}[kind] is type(mix)
    # the D-PSGD step is the plain formula to rounding, in either dtype and either product
    G = np.random.default_rng(6).standard_normal(X.shape)
    step = al.dpsgd_step(X.astype(dtype), G.astype(dtype), mix, 0.1)
    assert step.dtype == dtype
    np.testing.assert_allclose(step, golden - 0.1 * G, rtol=rtol, atol=10 * rtol * np.abs(X).max())


@pytest.mark.parametrize("rows", [1, 3, 4, 64])
def test_blocked_gossip_any_block_size_and_its_errors(rows):
    W = tp.mixing_matrix(tp.ring(21))
    X, G = np.random.default_rng(7).standard_normal((2, 21, 11))
    b = al.BlockedGossip(W, rows_per_block=rows)
    assert b.rows_per_block == rows and len(b.blocks) == -(-21 // rows)
    # every block of a ring uses its rows and their two neighbours: one run, two at the ends
    assert b.n_runs == len(b.blocks) + (2 if rows < 21 else 0)
    if rows == 1:  # one-row blocks make three-column runs (one-column ones at the ends): too thin
        assert not b.worthwhile(np.count_nonzero(W))
    np.testing.assert_allclose(b.mix_axpy(X, G, -0.3), W @ X - 0.3 * G, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(b @ X[:, :0], np.zeros((21, 0)))
    with pytest.raises(ValueError, match=r"X must have shape \(21, d\)"):
        b @ X[:5]
    with pytest.raises(ValueError, match="G must have the shape of X"):
        b.mix_axpy(X, G[:, :3], 1.0)
    with pytest.raises(ValueError, match="square float64 or float32"):
        al.BlockedGossip(W[:3])
    # the benchmark's case, a ring of 128 models of 7850 parameters, goes blocked; a random
    # regular graph scatters its neighbours into thin runs, so CSR stays
    ring = tp.mixing_matrix(tp.ring(128))
    assert isinstance(al._mixer(ring, np.float64, "blocked", d=7850), al.BlockedGossip)
    R = tp.mixing_matrix(tp.random_regular(128, 4, rng=1))
    assert not al.BlockedGossip(R, d_hint=7850).worthwhile(np.count_nonzero(R))
    assert not isinstance(al._mixer(R, np.float64, "blocked", d=7850), al.BlockedGossip)


@pytest.mark.parametrize("name", ["allreduce", "dpsgd", "d2"])
def test_blocked_gossip_runs_the_same_training_to_rounding(name):
    rng = np.random.default_rng(0)
    n, c, p = 24, 4, 10
    y = rng.integers(0, c, 2400)
    F = rng.standard_normal((c, p))[y] + rng.standard_normal((2400, p))
    m = LogisticRegression(p, c, l2=1e-2)
    W, _ = tp.fix_for_d2(tp.mixing_matrix(tp.ring(n)))
    shards = pt.partition_label_skew(y, n, 2, rng=1)
    kw = dict(n_steps=150, batch_size=8, lr=0.3, seed=1, W=W, eval_every=50)
    ref = al.simulate(name, m, F, y, shards, **kw)
    blk = al.simulate(name, m, F, y, shards, gossip="blocked", **kw)
    for k in ref.metrics:
        np.testing.assert_allclose(blk[k], ref[k], rtol=1e-10, atol=1e-14)
    assert ref["train_loss"][-1] < 0.7 * ref["train_loss"][0]
    with pytest.raises(ValueError, match="gossip must be one of 'csr', 'blocked'"):
        al.simulate(name, m, F, y, shards, gossip="dense", **kw)


@pytest.mark.parametrize("name", al.ALGORITHMS)
def test_float32_state_stays_float32_and_tracks_float64(blobs, name):
    F, y, m = blobs
    skew = pt.partition_label_skew(y, N_WORKERS, 2, rng=1)
    h64 = run(blobs, name, skew, n_steps=200)
    h32 = run(blobs, name, skew, n_steps=200, dtype=np.float32)
    again = run(blobs, name, skew, n_steps=200, dtype="float32")
    assert h64.final_X.dtype == np.float64 and h32.final_X.dtype == np.float32
    for k in h32.metrics:  # bit-for-bit reproducible in float32 too
        assert np.array_equal(h32[k], again[k])
    assert np.array_equal(h32.final_X, again.final_X)
    # the same training to float32 rounding. Quantized runs: rounding flips a few stochastic-
    # rounding decisions, so a slightly different noise realization follows; ECD sends the
    # extrapolation (1 - t/2) x^t + (t/2) x^(t+1), whose weights t/2 magnify any change of the
    # models, so its curve moves by up to ~1% (the spread between two seeds here is ~1.4%).
    tol = {"ecd": 1e-2, "dcd": 2e-3, "naive_quantized": 2e-3, "qsgd_allreduce": 2e-3}.get(name, 1e-4)
    assert h64["train_loss"][-1] < 0.7 * h64["train_loss"][0]
    np.testing.assert_allclose(h32["train_loss"], h64["train_loss"], rtol=tol)


def test_algorithm_init_dtype_and_bad_dtypes(blobs):
    algo = al.make_algorithm("dcd", W=RING, compressor=StochasticQuantizer(4))
    algo.init(np.zeros((N_WORKERS, 3)), dtype=np.float32)
    rng = np.random.default_rng(0)
    for _ in range(3):  # the compressor computes in float64; the state is rounded back
        algo.step(np.ones((N_WORKERS, 3), dtype=np.float32), 0.1, rng)
        assert algo.X.dtype == np.float32
    algo.init(np.zeros((N_WORKERS, 3)))
    assert algo.X.dtype == np.float64 and algo._mix.dtype == np.float64
    F, y, m = blobs
    iid = pt.partition_iid(len(y), N_WORKERS, rng=0)
    for bad in (np.float16, "int64", "double precision", "complex128"):
        with pytest.raises(ValueError, match="dtype must be float64 or float32"):
            al.simulate("dpsgd", m, F, y, iid, n_steps=5, batch_size=8, lr=0.1, seed=0, W=RING, dtype=bad)


@pytest.mark.parametrize("cover", ["all samples", "a subset"])
def test_recorded_training_loss_is_the_average_of_the_workers_objectives(blobs, cover):
    F, y, m = blobs
    shards = pt.partition_dirichlet(y, N_WORKERS, 0.5, rng=2, min_size=16)
    if cover == "a subset":  # some samples on no worker: scored from a copy of the shards' rows
        shards = [s[: max(16, len(s) // 2)] for s in shards]
    assert (sum(map(len, shards)) == len(y)) == (cover == "all samples")
    h = run(blobs, "dpsgd", shards, n_steps=100, keep_final=True)
    xbar = h.final_X.mean(axis=0)
    by_hand = np.mean([m.loss(xbar, F[s], y[s])[0] for s in shards])
    acc = np.mean([m.accuracy(xbar, F[s], y[s])[0] for s in shards])
    assert h["train_loss"][-1] == pytest.approx(by_hand, rel=1e-12)
    assert h["train_acc"][-1] == pytest.approx(acc, rel=1e-12)


def test_blocked_gossip_with_an_empty_row_block():
    W = np.zeros((8, 8))
    W[4:, 4:] = 0.25  # rows 0-3 empty: not a mixing matrix, but the product is defined
    X, G = np.random.default_rng(8).standard_normal((2, 8, 5))
    b = al.BlockedGossip(W, rows_per_block=4)
    np.testing.assert_allclose(b @ X, W @ X, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(b.mix_axpy(X, G, 0.5), W @ X + 0.5 * G, rtol=1e-14, atol=1e-14)
