"""repro.automl.scheduler: invariants of the device simulation, policies, bad inputs."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from repro.automl import kernel
from repro.automl import scheduler as S
from repro.automl.errors import AutomlError, MatrixError, SchedulerError
from repro.errors import ReproError


def problem(n_users=4, n_models=5, seed=0):
    rng = np.random.default_rng(seed)
    level = rng.uniform(0.2, 0.9, size=(n_users, 1))
    q = np.clip(level + 0.05 * rng.normal(size=(n_users, n_models)), 0, 1)
    c = rng.uniform(1.0, 10.0, size=(n_users, n_models))
    prior = np.clip(rng.uniform(0.2, 0.9, size=(8, 1)) + 0.05 * rng.normal(size=(8, n_models)), 0, 1)
    return q, c, kernel.learn_kernel(prior)


@pytest.mark.parametrize("policy", S.POLICIES)
@pytest.mark.parametrize("pending", S.PENDING_RULES)
@pytest.mark.parametrize("m", [1, 3])
def test_runs_to_the_end_with_invariants(policy, pending, m):
    q, c, k = problem()
    tr = S.simulate(q, c, k, m, policy, pending=pending, seed=3)
    S.check_trace(tr)
    assert tr.n_finished == q.size  # every (user, model) pair, once
    assert sorted(zip(tr.jobs["user"], tr.jobs["model"])) == [(u, j) for u in range(4) for j in range(5)]
    assert tr.regret[-1] == pytest.approx(0.0)
    assert tr.regret[0] == pytest.approx(q.max(axis=1).sum())  # baseline 0: no model yet
    assert np.all(np.diff(tr.times) >= 0)
    # a device is never idle while work is left: the total busy time fills M devices up to the last start
    assert tr.jobs["start"].max() <= tr.times[-1]


@settings(max_examples=25, deadline=None)
@given(n_users=st.integers(1, 5), n_models=st.integers(2, 6), m=st.integers(1, 6), seed=st.integers(0, 10_000),
       policy=st.sampled_from(S.POLICIES), per_second=st.booleans())
def test_invariants_hold_for_random_problems(n_users, n_models, m, seed, policy, per_second):
    m = min(m, n_users * n_models)
    q, c, k = problem(n_users, n_models, seed)
    c = np.round(c)  # integer costs make simultaneous ends (ties) common
    tr = S.simulate(q, c, k, m, policy, per_second=per_second, seed=seed, horizon=3 * c.mean() * n_users)
    S.check_trace(tr)
    busy = {}
    for d, s, e in zip(tr.jobs["device"], tr.jobs["start"], tr.jobs["end"]):
        assert all(e <= s0 or s >= e0 for s0, e0 in busy.get(d, [])), "device runs two jobs at once"
        busy.setdefault(d, []).append((s, e))
    assert set(tr.jobs["device"]) <= set(range(m))


def test_check_trace_catches_violations():
    q, c, k = problem()
    tr = S.simulate(q, c, k, 2, "gp_ei")
    bad = S.Trace(**{**tr.__dict__, "jobs": {**tr.jobs, "model": np.zeros_like(tr.jobs["model"])}})
    with pytest.raises(SchedulerError, match="twice"):
        S.check_trace(bad)
    j = {key: v.copy() for key, v in tr.jobs.items()}
    j["device"][:] = 0
    with pytest.raises(SchedulerError, match="two jobs at once"):
        S.check_trace(S.Trace(**{**tr.__dict__, "jobs": j}))
    with pytest.raises(SchedulerError, match="backwards"):
        S.check_trace(S.Trace(**{**tr.__dict__, "times": tr.times[::-1].copy()}))


def test_round_robin_cycles_users():
    q, c, k = problem(n_users=3)
    tr = S.simulate(q, np.ones_like(c), k, 1, "round_robin")
    assert list(tr.jobs["user"][:9]) == [0, 1, 2] * 3


def test_believer_spreads_first_jobs_over_users():
    q, c, k = problem(n_users=4)
    tr = S.simulate(q, np.ones_like(c), k, 4, "gp_ei", pending="believer")
    first = tr.jobs["user"][tr.jobs["start"] == 0]
    assert sorted(first) == [0, 1, 2, 3]


def test_multi_tenant_serves_the_user_with_more_to_gain():
    # user 0 is settled (all models equal), user 1 has one far better model: after both have one
    # result, the multi-tenant scheduler spends the devices on user 1 first
    k = kernel.ModelKernel(np.full(3, 0.5), 0.04 * np.eye(3), 1.0, "identity")
    q = np.array([[0.5, 0.5, 0.5], [0.2, 0.2, 0.9]])
    tr = S.simulate(q, np.ones_like(q), k, 1, "gp_ei", noise=1e-6)
    assert list(tr.jobs["user"][:4]) == [0, 1, 1, 1]
    assert tr.regret[4] == pytest.approx(0.0)  # user 1's 0.9 found after 4 jobs
    rr = S.simulate(q, np.ones_like(q), k, 1, "round_robin", noise=1e-6)
    assert list(rr.jobs["user"][:4]) == [0, 1, 0, 1] and rr.regret[4] > 0


def test_cost_aware_prefers_cheap_models():
    k = kernel.ModelKernel(np.full(3, 0.5), 0.04 * np.eye(3), 1.0, "identity")
    q = np.array([[0.5, 0.6, 0.7]])
    c = np.array([[100.0, 1.0, 100.0]])
    assert S.simulate(q, c, k, 1, "gp_ei", per_second=True).jobs["model"][0] == 1


def test_horizon_and_stop_regret():
    q, c, k = problem()
    tr = S.simulate(q, c, k, 2, "gp_ei", horizon=15.0)
    assert tr.stopped == "horizon" and np.all(tr.times <= 15.0)
    tr = S.simulate(q, c, k, 2, "gp_ei", stop_regret=0.05)
    assert tr.stopped == "regret reached" and tr.regret[-1] <= 0.05 and tr.regret[-2] > 0.05


def test_bad_inputs_are_clear_errors():
    q, c, k = problem()
    qn = q.copy()
    qn[1, 2] = np.nan
    with pytest.raises(MatrixError, match="NaN.*data set 1, model 2"):
        S.simulate(qn, c, k, 1, "gp_ei")
    c0 = c.copy()
    c0[0, 3] = 0.0
    with pytest.raises(MatrixError, match="> 0"):
        S.simulate(q, c0, k, 1, "gp_ei")
    with pytest.raises(MatrixError, match="> 0"):
        S.simulate(q, -c, k, 1, "gp_ei")
    with pytest.raises(SchedulerError, match="21 devices but only 20 jobs"):
        S.simulate(q, c, k, 21, "gp_ei")
    with pytest.raises(SchedulerError, match=">= 1"):
        S.simulate(q, c, k, 0, "gp_ei")
    with pytest.raises(SchedulerError, match="unknown policy"):
        S.simulate(q, c, k, 1, "fifo")
    with pytest.raises(SchedulerError, match="pending"):
        S.simulate(q, c, k, 1, "gp_ei", pending="ignore")
    with pytest.raises(SchedulerError, match="kernel"):
        S.simulate(q[:, :3], c[:, :3], k, 1, "gp_ei")
    with pytest.raises(MatrixError, match="shape"):
        S.simulate(q, c[:, :3], k, 1, "gp_ei")
    with pytest.raises(SchedulerError, match="horizon"):
        S.simulate(q, c, k, 1, "gp_ei", horizon=0)
    for e in (MatrixError, SchedulerError, AutomlError):
        assert issubclass(e, ReproError)


def test_threads_setting_does_not_change_the_schedule():
    q, c, k = problem()
    a = S.simulate(q, c, k, 2, "gp_ei", threads=1)
    b = S.simulate(q, c, k, 2, "gp_ei", threads=None)
    assert np.array_equal(a.jobs["model"], b.jobs["model"]) and np.array_equal(a.regret, b.regret)
