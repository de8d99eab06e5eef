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
    assert S.seeds == paper.Seeds(real_hosts=7, simulation=7, gan_init=7, gan_batches=7, validation=(7, 1))
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


def test_speed_benchmark_returns_medians_fastest_and_ratios():
    from repro.astro.psfgan import PSFGAN, point_source_image
    g = PSFGAN(size=16, base_filters=4, max_filters=8, seed=0)
    yy, xx = np.indices((7, 7)) - 3
    psf = np.exp(-0.5 * (yy ** 2 + xx ** 2) / 1.2 ** 2)
    psf /= psf.sum()
    img = np.stack([point_source_image(psf, f, 16) + np.random.default_rng(i).normal(0, 0.01, (16, 16))
                    for i, f in enumerate((50.0, 80.0))])
    out = paper.speed_benchmark(g.generator, img, [psf], [0, 0], [0.01, 0.01], [900.0, 900.0], aperture_radius=6.0,
                                ftol=1e-5, repeats=2, processes=2, batch_images=8, batch_size=4, progress=False)
    assert out["images"] == 2 and out["repeats"] == 2 and out["processes"] == 2
    for k in ("gan_single_s", "gan_batched_s", "fit_serial_s", "fit_per_core_s"):
        assert len(out[k]) == 2 and min(out[k]) > 0
        assert out[f"{k}_fastest"] == min(out[k]) and out[f"{k}_median"] == pytest.approx(np.median(out[k]))
    assert out["ratio_like_for_like"] == pytest.approx(out["fit_per_core_s_median"] / out["gan_batched_s_median"])
    assert out["ratio_single"] == pytest.approx(out["fit_serial_s_median"] / out["gan_single_s_median"])
    with pytest.raises(ValueError):
        paper.speed_benchmark(g.generator, img[:0], [psf], [], [], [], aperture_radius=6.0, ftol=1e-5)
    with pytest.raises(ValueError):
        paper.speed_benchmark(g.generator, img, [psf], [0, 0], [0.01] * 2, [900.0] * 2, aperture_radius=6.0,
                              ftol=1e-5, repeats=0)


def test_gpu_profile_is_declared_and_refused_without_a_gpu(monkeypatch):
    from repro import chains
    cs = params.spec("psfgan")
    assert "gpu" in cs.profiles and cs.extra_profiles["gpu"].requires == ("gpu",)
    P = params.load("psfgan", "gpu")
    assert (P.stamp_size, P.base_filters, P.train_steps) == (128, 64, 60000)
    assert P.fit_ftol == params.load("psfgan", "full").fit_ftol   # inherited from full
    monkeypatch.setattr(params, "gpu_devices", lambda: [])
    with pytest.raises(ChainError, match="needs a GPU"):
        chains.run("psfgan", "gpu")
    with pytest.raises(params.ParameterError, match="unknown profile 'gpu' for chain 'agn'"):
        params.load("agn", "gpu")


def test_show_stamp_draws_without_ticks():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    paper.show_stamp(ax, np.ones((8, 8)), title="x")
    assert ax.get_title() == "x" and len(ax.get_xticks()) == 0 and len(ax.images) == 1
    plt.close(fig)
