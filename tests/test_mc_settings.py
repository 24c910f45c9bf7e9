"""``neft.core.mc.McSettings``: the config's ``mc`` section typed, each default stated once and equal to the schema's,
so the Python API draws the workflow's chips for the same settings."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import yaml

from neft.core.mc import WORKFLOW_MC_SEED, ChipEvaluator, McSettings, export_chip
from neft.experiment.config import validate_config

from .conftest import REPO, SCHEMA, load_config

MC_SCHEMA = yaml.safe_load(SCHEMA.read_text())["properties"]["mc"]["properties"]
PRESETS = [[], *[[f"config/presets/{p.name}"] for p in sorted((REPO / "config/presets").glob("*.yaml"))]]


def _schema_default(name):
    return MC_SCHEMA[name]["default"]


def test_every_field_is_a_schema_key_with_the_same_default():
    fields = {f.name: f for f in dataclasses.fields(McSettings)}
    assert set(fields) == set(MC_SCHEMA), "McSettings and the schema's mc keys differ"
    defaults = McSettings()
    for name in fields:
        assert getattr(defaults, name) == _schema_default(name), name


@pytest.mark.parametrize("presets", PRESETS, ids=lambda p: p[0].rsplit("/", 1)[-1] if p else "config.yaml")
def test_every_presets_mc_section_builds_settings_that_hold_it_whole(presets):
    config = validate_config(load_config(*presets), SCHEMA, REPO)
    settings = McSettings.from_config(config["mc"])
    assert dataclasses.asdict(settings) == config["mc"]


def test_the_python_apis_chip_defaults_are_the_workflows():
    """``ChipEvaluator`` without settings takes ``McSettings()``: the workflow's seed, batch size, BN folding and
    bootstrap; ``export_chip``'s seed is the workflow's too."""
    import torch

    from neft.core import devices
    from neft.core.models import build_model

    assert inspect.signature(ChipEvaluator.__init__).parameters["settings"].default is None
    net = build_model("vgg8", 10, 1, 32, 0.0625)
    ev = ChipEvaluator(net, devices.get("RRAM1"), torch.zeros(2, 1, 32, 32), torch.zeros(2, dtype=torch.long))
    assert (ev.base_seed, ev.batch_size, ev.ekl_bootstrap) == (McSettings.seed, McSettings.batch_size, 100)
    assert McSettings.seed == WORKFLOW_MC_SEED == inspect.signature(export_chip).parameters["base_seed"].default


def test_a_rule_slice_without_an_option_means_it_is_off():
    """mc_slice (common.smk) leaves an option out when it is off: ekl_bootstrap then means none, not the default."""
    assert McSettings.from_params({"chips": 3, "seed": 1, "batch_size": 10, "fold_bn": True}).ekl_bootstrap == 0
    assert McSettings.from_params({"chips": 3, "seed": 1, "ekl_bootstrap": 100}).ekl_bootstrap == 100
    assert McSettings.from_config({"chips": 3}).ekl_bootstrap == McSettings.ekl_bootstrap


def test_an_unknown_key_is_named():
    with pytest.raises(ValueError, match="mc: unknown key.*chipz.*allowed: chips"):
        McSettings.from_config({"chipz": 3})


def test_the_adaptive_count_sets_the_chip_budget():
    assert McSettings(chips=30).chip_budget == 30
    on = McSettings(chips=30, adaptive={"enabled": True, "ci_half_width": 0.5, "min_chips": 20, "max_chips": 400})
    assert on.adaptive_enabled and on.chip_budget == 400
