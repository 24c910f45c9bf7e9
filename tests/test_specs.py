"""Typed settings built from the validated config (issue 25): ``ComputeSpec``, ``DataSpec`` and ``McSettings``.

Each default is stated once, in the spec, and equals the schema's. The rule params the Snakefile hands Snakemake
are the specs' ``params()``: Snakemake tracks ``params`` by the ``repr()`` of built-in values, so they must be the
very dicts the old slice functions returned (same keys, same order, same values) on every preset, or finished jobs
would rerun. The old functions are kept below, frozen, as the reference.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from neft.core.data.loader import DataSpec
from neft.core.mc import McSettings
from neft.core.methods import MethodSpec
from neft.core.models import ModelSpec
from neft.experiment.config import validate_config
from neft.util.perf import ComputeSpec

from .conftest import REPO, SCHEMA, load_config

PROPERTIES = yaml.safe_load(SCHEMA.read_text())["properties"]
PRESETS = [[], *[[f"config/presets/{p.name}"] for p in sorted((REPO / "config/presets").glob("*.yaml"))]]
IDS = [p[0].rsplit("/", 1)[-1] if p else "config.yaml" for p in PRESETS]


# -- the slice functions of workflow/rules/common.smk before the specs, verbatim but for `config` as an argument --
def old_data_slice(config):
    return {k: config["data"][k] for k in ("split_seed", "val_size", "train_subset", "val_subset", "test_subset")}


def old_mc_slice(config):
    mc = config["mc"]
    out = {k: mc[k] for k in ("chips", "seed", "batch_size", "fold_bn")}
    if mc["precision"] != "fp32":
        out["precision"] = mc["precision"]
    if mc["compile"]:
        out["compile"] = True
    if mc["chips_per_pass"] != 1:
        out["chips_per_pass"] = mc["chips_per_pass"]
    if mc["ekl_bootstrap"]:
        out["ekl_bootstrap"] = mc["ekl_bootstrap"]
    if mc["adaptive"]["enabled"]:
        del out["chips"]
        out["adaptive"] = mc["adaptive"]
    return out


def old_model_slice(config, model):
    return config["models"][model]


def old_method_slice(config, method):
    m = config["methods"][method]
    return {"kind": m["kind"], "params": m.get("params") or {}}


def old_compute_slice(config):
    out = {k: config["compute"][k] for k in ("device", "threads")}
    if config["compute"]["deterministic"]:
        out["deterministic"] = True
    return out


# every option on, so each branch of the old functions is compared once
EVERYTHING_ON = {
    "mc": {
        "precision": "bf16",
        "compile": True,
        "chips_per_pass": 4,
        "ekl_bootstrap": 7,
        "adaptive": {"enabled": True, "ci_half_width": 0.5, "min_chips": 20, "max_chips": 400},
    },
    "compute": {"deterministic": True, "device": "cpu", "threads": 3},
    "data": {"val_size": 100, "train_subset": 64, "val_subset": 32, "test_subset": 16, "split_seed": 5},
}
CASES = [(p, None) for p in PRESETS] + [([], EVERYTHING_ON)]
CASE_IDS = [*IDS, "everything on"]


@pytest.mark.parametrize("presets,extra", CASES, ids=CASE_IDS)
def test_rule_params_are_the_old_slices_byte_for_byte(presets, extra):
    config = validate_config(load_config(*presets, extra=extra), SCHEMA, REPO)
    pairs = [
        (DataSpec.from_params(config["data"]).params(), old_data_slice(config)),
        (McSettings.from_config(config["mc"]).params(), old_mc_slice(config)),
        (ComputeSpec.from_params(config["compute"]).params(), old_compute_slice(config)),
    ]
    pairs += [
        (ModelSpec.from_params(m, config["models"][m]).params(), old_model_slice(config, m)) for m in config["models"]
    ]
    pairs += [
        (MethodSpec.from_params(config["methods"][m]).params(), old_method_slice(config, m)) for m in config["methods"]
    ]
    for new, old in pairs:
        assert repr(new) == repr(old)


@pytest.mark.parametrize("spec,section", [(DataSpec, "data"), (ComputeSpec, "compute"), (McSettings, "mc")])
def test_every_default_is_the_schemas(spec, section):
    for f in dataclasses.fields(spec):
        assert f.name in PROPERTIES[section]["properties"], f"{spec.__name__}.{f.name} is not a {section} key"
        schema_default = PROPERTIES[section]["properties"][f.name]["default"]
        assert getattr(spec(), f.name) == schema_default, f"{section}.{f.name}"


@pytest.mark.parametrize("presets", PRESETS, ids=IDS)
def test_params_read_back_as_the_same_spec(presets):
    config = validate_config(load_config(*presets), SCHEMA, REPO)
    for spec, section in ((DataSpec, "data"), (ComputeSpec, "compute")):
        built = spec.from_params(config[section])
        assert spec.from_params(built.params()) == built
    mc = McSettings.from_config(config["mc"])
    back = McSettings.from_params(mc.params())
    assert back.params() == mc.params() and back.seed == mc.seed and back.batch_size == mc.batch_size


def test_the_commonsmk_slices_are_the_specs_params():
    """The Snakefile's param functions build the specs; none restates a key list or a default."""
    text = (REPO / "workflow/rules/common.smk").read_text()
    calls = ("DataSpec.from_params(", "McSettings.from_config(", "ComputeSpec.from_params(", "ModelSpec.from_params(")
    for call in (*calls, "MethodSpec.from_params("):
        assert call in text, call
    assert '"split_seed", "val_size"' not in text and 'mc["precision"] != "fp32"' not in text


# -- Sigma: a value type that owns the spelling ------------------------------------------------------------------
def test_sigma_owns_its_spelling():
    from neft.util.sigma import Sigma, format_sigma

    same = [Sigma("0.070"), Sigma("7e-2"), Sigma(0.07), Sigma(Sigma("0.07"))]
    assert {s.text for s in same} == {"0.07"} and len(set(same)) == 1
    assert str(Sigma("0.0")) == "0" and float(Sigma("0.25")) == 0.25
    assert format_sigma(Sigma("0.150")) == "0.15"  # every function that takes a sigma takes a Sigma
    for bad, fragment in [("1.5", "must lie in [0, 1]"), ("0.00001", "more than 4 decimals"), ("x", "not a number")]:
        with pytest.raises(ValueError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
            Sigma(bad)


def test_job_specs_take_any_spelling_and_hold_one():
    from neft.experiment.job_specs import EvalJob, TrainJob
    from neft.util.sigma import Sigma

    train = TrainJob(
        model="vgg8", width=0.0625, dataset="mnist", method={"kind": "plain"}, sigma="0.070", seed=0, settings={}
    )
    assert train.sigma == Sigma("0.07") and str(train.sigma) == "0.07"
    ev = EvalJob(model="vgg8", width=0.0625, dataset="mnist", sigma_test=0.1, seed_sigma="0.10", mc={"chips": 3})
    assert (str(ev.sigma_test), str(ev.seed_sigma)) == ("0.1", "0.1")
    assert isinstance(ev.mc, McSettings) and ev.mc.chips == 3 and ev.mc.ekl_bootstrap == 0  # a rule's params.mc
    assert isinstance(ev.data, DataSpec) and isinstance(ev.compute, ComputeSpec)


def test_model_and_method_defaults_are_the_schemas():
    entry = PROPERTIES["models"]["additionalProperties"]["properties"]
    defaults = {f.name: f.default for f in dataclasses.fields(ModelSpec) if f.name != "name"}
    assert defaults == {k: entry[k]["default"] for k in ("width", "lr")}
    method = PROPERTIES["methods"]["additionalProperties"]["properties"]
    assert MethodSpec("plain").parameters == method["params"]["default"] == {}
    assert ModelSpec("resnet18").lr == 1e-2 and ModelSpec("vgg8", lr=0.5).lr == 0.5  # null lr: the paper's


def test_training_defaults_are_the_schemas():
    """``TrainSettings`` (neft.core.train) against the schema's ``training`` section: the same default for every
    field both have (``selection_*`` are ``training.selection.*``; ``lr`` is the model's, ``ModelSpec``)."""
    from neft.core.train import TrainSettings

    schema = PROPERTIES["training"]["properties"]
    selection = schema["selection"]["properties"]
    for f in dataclasses.fields(TrainSettings):
        if f.name.startswith("selection_"):
            assert f.default == selection[f.name.removeprefix("selection_")]["default"], f.name
        elif f.name in schema:
            assert f.default == schema[f.name]["default"], f.name
    assert TrainSettings.lr == ModelSpec("vgg8").lr
