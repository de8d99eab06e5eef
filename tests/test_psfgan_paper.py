"""repro.papers.psfgan: the chain's setup (seeds, threads, lazy members), the speed experiment, stamps."""
import numpy as np
import pytest

from repro import params
from repro.errors import ChainError
from repro.papers import psfgan as paper


@pytest.fixture
def no_tf_config(monkeypatch):
    """Record configure_tensorflow calls instead of changing the test process's TensorFlow."""
    calls = []
    monkeypatch.setattr(paper.gan_mod, "configure_tensorflow", lambda **kw: calls.append(kw))
    return calls


def test_setup_names_seeds_and_applies_threads(no_tf_config):
    P = params.load("psfgan", "smoke", {"seed": 7, "threads": 3})
    S = paper.setup(P)
    assert S.seeds == paper.Seeds(real_hosts=7, simulation=7, gan_init=7, gan_batches=7)
    assert S.threads == 3 and no_tf_config == [{"threads": 3}]
    assert params.load("psfgan", "smoke").threads == params.load("psfgan", "full").threads == 2


def test_members_that_need_a_run_say_so(no_tf_config):
    S = paper.setup(params.load("psfgan", "smoke"))
    with pytest.raises(ChainError, match="run"):
        S.test
    with pytest.raises(ChainError, match="unknown GAN variant"):
        S.gan_dir("mnist")


def test_new_gan_uses_the_run_parameters(no_tf_config):
    P = params.load("psfgan", "smoke", {"stamp_size": 32})
    g = paper.setup(P).new_gan()
    assert g.size == 32 and g.l1_weight == P.l1_weight
    assert g.generator.get_layer("enc0").filters == P.base_filters


def test_time_against_fit_returns_the_ratios():
    from repro.astro.psfgan import PSFGAN, point_source_image
    g = PSFGAN(size=16, base_filters=4, max_filters=8, seed=0)
    yy, xx = np.indices((7, 7)) - 3
    psf = np.exp(-0.5 * (yy ** 2 + xx ** 2) / 1.2 ** 2)
    psf /= psf.sum()
    img = point_source_image(psf, 50.0, 16) + np.random.default_rng(0).normal(0, 0.01, (16, 16))
    out = paper.time_against_fit(g.generator, img[None], [psf], [0], [0.01], [900.0], aperture_radius=6.0,
                                 ftol=1e-5)
    assert out["images"] == 1 and len(out["gan_s"]) == len(out["fit_s"]) == 1
    assert out["ratio_median"] == pytest.approx(out["fit_median_s"] / out["gan_median_s"])
    with pytest.raises(ValueError):
        paper.time_against_fit(g.generator, img[:0], [psf], [], [], [], aperture_radius=6.0, ftol=1e-5)


def test_show_stamp_draws_without_ticks():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    paper.show_stamp(ax, np.ones((8, 8)), title="x")
    assert ax.get_title() == "x" and len(ax.get_xticks()) == 0 and len(ax.images) == 1
    plt.close(fig)
