import pytest

from repro import params
from repro.errors import ChainError, ParameterError


def test_profiles_load_with_their_own_values():
    smoke = params.load("agn", "smoke")
    full = params.load("agn", "full")
    assert smoke.n_lightcurves < full.n_lightcurves
    assert smoke.seed == full.seed  # 'value:' applies to both profiles
    assert smoke.profile == "smoke" and smoke.chain == "agn"


def test_overrides_are_converted_from_strings():
    p = params.load("agn", "full", {"n_lightcurves": "200", "seed": "7", "psd_bend_years": "2e4",
                                     "sf_levels_dt_years": "0.1, 10"})
    assert p.n_lightcurves == 200 and isinstance(p.n_lightcurves, int)
    assert p.seed == 7
    assert p.psd_bend_years == 2e4
    assert p.sf_levels_dt_years == [0.1, 10.0]
    assert dict(p.overrides) == {"n_lightcurves": 200, "seed": 7, "psd_bend_years": 2e4,
                                 "sf_levels_dt_years": [0.1, 10.0]}


def test_unknown_key_names_key_and_allowed_keys():
    with pytest.raises(ParameterError) as e:
        params.load("agn", "full", {"n_lightcurve": 3})
    msg = str(e.value)
    assert "'n_lightcurve'" in msg and "did you mean 'n_lightcurves'" in msg and "seed" in msg


@pytest.mark.parametrize("key,value,fragment", [
    ("seed", "abc", "must be an int"),
    ("seed", "-1", ">= 0"),
    ("seed", True, "must be an int"),
    ("band", "x", "one of u, g, r, i, z"),
    ("psd_alpha_high", "nan", "finite"),
    ("psd_alpha_high", "9", "<= 3.5"),
    ("sf_levels_dt_years", "0.1,abc", "must be a float"),
])
def test_bad_values_are_rejected_with_the_rule(key, value, fragment):
    with pytest.raises(ParameterError) as e:
        params.load("agn", "smoke", {key: value})
    assert key in str(e.value) and fragment in str(e.value)


def test_unknown_profile_and_chain():
    with pytest.raises(ParameterError, match="unknown profile 'fast'"):
        params.load("agn", "fast")
    with pytest.raises(ChainError, match="unknown chain 'agm'.*did you mean 'agn'.*available chains: .*agn"):
        params.load("agm", "smoke")


def test_params_are_read_only():
    p = params.load("agn", "smoke")
    with pytest.raises(TypeError):
        p._values["seed"] = 3
    with pytest.raises(ParameterError, match="unknown parameter 'nope'"):
        p["nope"]


def test_describe_lists_every_parameter():
    text = params.describe("agn")
    for name in params.spec("agn").params:
        assert name in text


def test_bool_and_list_coercion():
    ps = params.ParamSpec("flag", "bool", "", {"smoke": False, "full": False})
    assert ps.coerce("yes", "x") is True and ps.coerce("0", "x") is False
    with pytest.raises(ParameterError):
        ps.coerce("maybe", "x")
    ls = params.ParamSpec("ks", "list[int]", "", {"smoke": [1], "full": [1]}, min=1)
    assert ls.coerce("1,2,3", "x") == [1, 2, 3]
    with pytest.raises(ParameterError, match=">= 1"):
        ls.coerce([0, 2], "x")
    with pytest.raises(ParameterError, match="non-empty"):
        ls.coerce("", "x")


def _toy(tmp_path, monkeypatch, profiles, extra=""):
    folder = tmp_path / "notebooks" / "toy"
    folder.mkdir(parents=True)
    (folder / "params.yaml").write_text(
        "chain: toy\nprofiles:\n" + profiles + "\nparameters:\n"
        "  n:\n    type: int\n    min: 1\n    smoke: 1\n    full: 10\n" + extra, encoding="utf-8")
    monkeypatch.setattr(params, "notebooks_root", lambda: tmp_path / "notebooks")


def test_extra_profile_inherits_its_base_and_takes_its_own_values(tmp_path, monkeypatch):
    _toy(tmp_path, monkeypatch, "  big:\n    like: full\n    doc: a bigger run\n",
         "    big: 100\n  m:\n    type: int\n    value: 3\n")
    assert params.spec("toy").profiles == ("smoke", "full", "big")
    p = params.load("toy", "big")
    assert (p.n, p.m, p.profile) == (100, 3, "big")
    assert "profile big (as full" in params.describe("toy") and "big=100" in params.describe("toy")
    params.check_requirements("toy", "big")   # requires nothing
    with pytest.raises(ParameterError, match="unknown profile 'huge' for chain 'toy'.*smoke, full, big"):
        params.load("toy", "huge")


@pytest.mark.parametrize("profiles,fragment", [
    ("  full:\n    like: full\n    doc: x\n", "taken"),
    ("  big:\n    like: medium\n    doc: x\n", "needs 'like'"),
    ("  big:\n    like: full\n", "needs 'like'"),
    ("  big:\n    like: full\n    doc: x\n    requires: [tpu]\n", "unknown requirement"),
])
def test_bad_extra_profiles_are_rejected(tmp_path, monkeypatch, profiles, fragment):
    _toy(tmp_path, monkeypatch, profiles)
    with pytest.raises(ParameterError, match=fragment):
        params.spec("toy")


def test_a_value_for_an_undeclared_profile_is_rejected(tmp_path, monkeypatch):
    _toy(tmp_path, monkeypatch, "  big:\n    like: full\n    doc: x\n", "    bigg: 3\n")
    with pytest.raises(ParameterError, match="unknown key.*bigg"):
        params.spec("toy")


def test_a_gpu_profile_is_refused_where_tensorflow_sees_no_gpu(tmp_path, monkeypatch):
    _toy(tmp_path, monkeypatch, "  gpu:\n    like: full\n    doc: one GPU\n    requires: gpu\n")
    monkeypatch.setattr(params, "gpu_devices", lambda: [])
    with pytest.raises(ChainError, match="profile 'gpu' needs a GPU.*TensorFlow sees none"):
        params.check_requirements("toy", "gpu")
    monkeypatch.setattr(params, "gpu_devices", lambda: ["GPU:0"])
    params.check_requirements("toy", "gpu")
