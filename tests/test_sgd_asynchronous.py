"""The event-driven simulator (repro.sgd.asynchronous): compute times, samplers, graphs, the
synchronous algorithms and AD-PSGD in simulated time."""
import math

import numpy as np
import pytest

from repro.sgd import algorithms, asynchronous as A, models, network, partition, topology
from repro.sgd.problem import mnist_problem


FREE = network.Network(0.0, 1e30)   # communication costs nothing
SLOW = network.Network(1e-3, 5e7)


@pytest.fixture(scope="module")
def blobs():
    """A small separable 3-class problem (fast; the mechanics do not need images)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, size=(3, 5))
    y = rng.integers(0, 3, size=480)
    f = centres[y] + rng.normal(0, 1, size=(480, 5))
    model = models.LogisticRegression(5, 3, l2=1e-3)
    return f, y, model


def _shards(n, n_samples=480, seed=0):
    return partition.partition_iid(n_samples, n, seed)


# ----------------------------------------------------------------------------- compute times
def test_compute_times_without_jitter_are_exact():
    c = A.stragglers(0.01, 10, workers=(2,), jitter=0.0)
    f = c.factors(4)
    np.testing.assert_array_equal(f, [1, 1, 10, 1])
    np.testing.assert_allclose(c.draw(f, np.random.default_rng(0)), [0.01, 0.01, 0.1, 0.01], rtol=1e-12)
    np.testing.assert_allclose(c.mean(4), [0.01, 0.01, 0.1, 0.01])


def test_compute_jitter_has_mean_one_and_slowdowns_their_rate():
    rng = np.random.default_rng(1)
    c = A.homogeneous(1.0, jitter=0.3)
    d = np.concatenate([c.draw(np.ones(100), rng) for _ in range(200)])
    assert abs(d.mean() - 1.0) < 0.01
    assert abs(d.std() / d.mean() - 0.3) < 0.02
    r = A.random_slowdowns(1.0, 0.1, 5.0, jitter=0.0)
    d = np.concatenate([r.draw(np.ones(100), rng) for _ in range(200)])
    assert set(np.unique(d)) == {1.0, 5.0}
    assert abs((d == 5.0).mean() - 0.1) < 0.01


@pytest.mark.parametrize("kw", [dict(mean_s=0), dict(mean_s=1, jitter=-1), dict(mean_s=1, straggler_factor=0.5),
                                dict(mean_s=1, slowdown_prob=2)])
def test_compute_times_reject_bad_values(kw):
    with pytest.raises(ValueError):
        A.ComputeTimes(**kw)


def test_straggler_outside_the_workers_is_an_error():
    with pytest.raises(ValueError, match="straggler 7"):
        A.stragglers(1.0, 10, workers=(7,)).factors(4)


# ----------------------------------------------------------------------------- sampler, graphs
def test_worker_sampler_passes_without_replacement_and_repeats():
    shard = np.arange(100, 150)
    s = A.WorkerSampler(shard, 10, seed=3, worker=1)
    first = np.concatenate([s.next() for _ in range(5)])
    np.testing.assert_array_equal(np.sort(first), shard)
    t = A.WorkerSampler(shard, 10, seed=3, worker=1)
    np.testing.assert_array_equal(np.concatenate([t.next() for _ in range(5)]), first)
    u = A.WorkerSampler(shard, 10, seed=3, worker=2)
    assert not np.array_equal(np.concatenate([u.next() for _ in range(5)]), first)
    with pytest.raises(ValueError, match="exceeds"):
        A.WorkerSampler(np.arange(5), 10, 0, 0)


def test_bipartite_split_and_graphs():
    act = A.bipartite_split(topology.ring(6))
    np.testing.assert_array_equal(act, [True, False] * 3)
    with pytest.raises(A.AsyncSimError, match="not bipartite"):
        A.bipartite_split(topology.ring(5))
    kb = A.complete_bipartite(6)
    assert kb.sum(axis=1).tolist() == [3] * 6 and np.array_equal(kb, kb.T) and kb.trace() == 0
    np.testing.assert_array_equal(A.bipartite_split(kb), [True, False] * 3)
    with pytest.raises(A.AsyncSimError, match="even"):
        A.complete_bipartite(5)
    with pytest.raises(A.AsyncSimError, match="unknown graph"):
        A.graph("star", 4)


# ----------------------------------------------------------------------------- synchronous runs
def test_sync_runs_equal_the_step_functions_and_their_time_is_exact(blobs):
    f, y, model = blobs
    n, b, lr, seed = 4, 8, 0.2, 5
    shards = _shards(n)
    adj = topology.ring(n)
    comp = A.stragglers(0.01, 3.0, workers=(1,), jitter=0.0)
    h = A.simulate("dpsgd", model, f, y, shards, adjacency=adj, epochs=1, batch_size=b, lr=lr, seed=seed,
                   compute=comp, network=SLOW)
    rounds = math.ceil(480 / b / n)
    # reference: the same minibatches through algorithms.dpsgd_step
    W = topology.mixing_matrix(adj)
    X = np.tile(model.init(seed), (n, 1))
    samplers = [A.WorkerSampler(s, b, seed, i) for i, s in enumerate(shards)]
    for _ in range(rounds):
        idx = np.stack([s.next() for s in samplers])
        X = algorithms.dpsgd_step(X, model.loss_grad(X, f[idx], y[idx])[1], W, lr)
    np.testing.assert_allclose(h.final_X, X, rtol=0, atol=1e-12)
    # the straggler sets the pace of every round on a ring: rounds * (3c + gossip)
    gossip = network.iteration_time(SLOW, "gossip", n, 32 * model.dim, degree=2)
    assert h.times[-1] == pytest.approx(rounds * (0.03 + gossip), rel=1e-12)
    assert h.grads[-1] == rounds * n and h.epochs[-1] == pytest.approx(rounds * n * b / 480)
    # AllReduce waits for the slowest worker and then for the ring AllReduce
    h = A.simulate("allreduce", model, f, y, shards, epochs=1, batch_size=b, lr=lr, seed=seed, compute=comp,
                   network=SLOW)
    ar = network.iteration_time(SLOW, "allreduce", n, 32 * model.dim)
    assert h.times[-1] == pytest.approx(rounds * (0.03 + ar), rel=1e-12)
    assert np.ptp(h.final_X, axis=0).max() == 0.0
    assert len(h.staleness) == 0


# ----------------------------------------------------------------------------- AD-PSGD
def test_adpsgd_counts_gradients_and_staleness(blobs):
    f, y, model = blobs
    n = 4
    h = A.simulate("adpsgd", model, f, y, _shards(n), adjacency=A.graph("bipartite", n), epochs=2, batch_size=8,
                   lr=0.1, seed=0, compute=A.homogeneous(0.01, jitter=0.0), network=FREE)
    total = math.ceil(2 * 480 / 8)
    assert h.grads[-1] == total and h.grads_per_worker.sum() == total
    assert len(h.staleness) == total and h.staleness.min() >= 0
    # equal workers, free network: every gradient waits for the other n - 1 workers' gradients
    assert h.staleness[n:].mean() == pytest.approx(n - 1, abs=0.05)
    assert h.staleness.max() <= n
    assert h.times[-1] == pytest.approx(total / n * 0.01, rel=0.02)
    assert h["train_loss"][-1] < 0.3 * h["train_loss"][0]
    assert h["consensus"][-1] < 1e-2 * np.sum(h.final_X.mean(axis=0) ** 2)


def test_adpsgd_straggler_contributes_less_and_nobody_waits(blobs):
    f, y, model = blobs
    n, k = 4, 10.0
    comp = A.stragglers(0.01, k, workers=(1,), jitter=0.0)   # worker 1 is passive
    kw = dict(adjacency=A.graph("bipartite", n), epochs=4, batch_size=8, lr=0.1, seed=0, network=FREE)
    h = A.simulate("adpsgd", model, f, y, _shards(n), compute=comp, **kw)
    others = np.delete(h.grads_per_worker, 1)
    assert abs(h.grads_per_worker[1] - others.mean() / k) <= 1.0
    h0 = A.simulate("adpsgd", model, f, y, _shards(n), compute=A.homogeneous(0.01, 0.0), **kw)
    # the total work is shared by 3 + 1/k equally fast workers instead of 4
    assert h.time_per_epoch / h0.time_per_epoch == pytest.approx(n / (n - 1 + 1 / k), rel=0.05)
    ar = A.simulate("allreduce", model, f, y, _shards(n), compute=comp, **{**kw, "adjacency": None})
    assert ar.time_per_epoch / h.time_per_epoch > 0.9 * k * (n - 1 + 1 / k) / n
    assert h.staleness.max() > 3 * h0.staleness.max()


def test_adpsgd_swaps_queue_on_a_busy_link(blobs):
    """Two active workers share one passive neighbour: swaps are serialized on its link."""
    f, y, model = blobs
    adj = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])   # path 0 - 1 - 2: actives 0 and 2, passive 1
    net = network.Network(0.005, 1e30)                   # a swap costs 5 ms, a gradient 1 ms
    h = A.simulate("adpsgd", model, f, y, partition.partition_iid(480, 3, 0), adjacency=adj, epochs=4, batch_size=8,
                   lr=0.1, seed=0, compute=A.homogeneous(0.001, 0.0), network=net)
    act = h.grads_per_worker[[0, 2]].sum()
    # one swap at a time on worker 1's link: the actives together finish one gradient per 5 ms
    # (not two per 6 ms, as they would with a link each)
    assert h.times[-1] == pytest.approx(act * 0.005, rel=0.05)
    assert h.grads_per_worker[1] == pytest.approx(h.times[-1] / 0.001, rel=0.05)


def test_adpsgd_is_deterministic_and_seed_dependent(blobs):
    f, y, model = blobs
    kw = dict(adjacency=A.graph("ring", 4), epochs=1, batch_size=8, lr=0.1, compute=A.homogeneous(0.01, 0.2),
              network=SLOW)
    a = A.simulate("adpsgd", model, f, y, _shards(4), seed=1, **kw)
    b = A.simulate("adpsgd", model, f, y, _shards(4), seed=1, **kw)
    c = A.simulate("adpsgd", model, f, y, _shards(4), seed=2, **kw)
    np.testing.assert_array_equal(a.final_X, b.final_X)
    np.testing.assert_array_equal(a.times, b.times)
    assert not np.array_equal(a.final_X, c.final_X)


def test_simulate_rejects_bad_input(blobs):
    f, y, model = blobs
    kw = dict(epochs=1, batch_size=8, lr=0.1, seed=0, compute=A.homogeneous(0.01), network=FREE)
    with pytest.raises(ValueError, match="unknown algorithm"):
        A.simulate("hogwild", model, f, y, _shards(4), **kw)
    with pytest.raises(ValueError, match="adjacency"):
        A.simulate("adpsgd", model, f, y, _shards(4), **kw)
    with pytest.raises(A.AsyncSimError, match="bipartite"):
        A.simulate("adpsgd", model, f, y, _shards(3), adjacency=topology.ring(3), **kw)
    with pytest.raises(ValueError, match="epochs"):
        A.simulate("allreduce", model, f, y, _shards(4), **{**kw, "epochs": 0})
    with pytest.raises(ValueError, match="ComputeTimes"):
        A.simulate("allreduce", model, f, y, _shards(4), **{**kw, "compute": 0.01})
    with pytest.raises(ValueError, match="not connected"):
        A.simulate("dpsgd", model, f, y, _shards(4), adjacency=np.zeros((4, 4), int), **kw)


@pytest.fixture(scope="module")
def mnist_small():
    problem = mnist_problem(1200, 0.2, 0)
    return problem, models.LogisticRegression(problem.n_features, 10, l2=1e-4)


def test_adpsgd_matches_allreduce_per_epoch_on_mnist(mnist_small):
    problem, model = mnist_small
    shards = partition.partition_iid(problem.n_train, 8, np.random.default_rng([0, 8]))
    kw = dict(epochs=2, batch_size=16, lr=0.1, seed=0, compute=A.homogeneous(0.005, 0.1), network=SLOW,
              evals_per_epoch=4)
    ar = A.simulate("allreduce", model, problem.train_features, problem.train_labels, shards, **kw)
    ad = A.simulate("adpsgd", model, problem.train_features, problem.train_labels, shards,
                    adjacency=A.graph("bipartite", 8), **kw)
    e = ar.epochs[ar.epochs >= 1]
    gap = np.abs(A.interp_loss(ad, at=e) - A.interp_loss(ar, at=e)) / A.interp_loss(ar, at=e)
    assert gap.max() < 0.1
    assert ad.time_per_epoch < ar.time_per_epoch
