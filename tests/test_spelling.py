"""Issue 26, class 3: list items that coincide in their spelling (in a path, a label or a table row) are refused at
parse time, naming the key, before any job runs."""

from __future__ import annotations

import pytest
import yaml

from neft.experiment.config import ConfigError, load_schema, validate_config
from neft.experiment.spelling import SPELLED

from .conftest import REPO, SCHEMA, load_config, snakemake

TEST_PRESET = "config/presets/test.yaml"
STUDIES = "config/presets/nonidealities.yaml"

#: (case, preset, extra config, fragment the message must hold)
CASES = [
    (
        "read noise levels one folder",
        STUDIES,
        {"nonidealities": {"read_noise": [0.05, 0.05000001]}},
        "nonidealities.read_noise: items [0] 0.05 and [1] 0.05000001 are both spelled '0.05' in the sweep folder",
    ),
    (
        "stuck fractions one folder",
        STUDIES,
        {"nonidealities": {"stuck_fraction": [0.001, 0.0010000001, 0.01]}},
        "nonidealities.stuck_fraction: items [0] 0.001 and [1] 0.0010000001 are both spelled '0.001'",
    ),
    (
        "a method twice in the non-ideality study",
        STUDIES,
        {"nonidealities": {"methods": ["noise_injection", "ovf", "ovf"]}},
        "nonidealities.methods: items [1] 'ovf' and [2] 'ovf' are both spelled 'ovf'",
    ),
    (
        "a method twice in the drift study",
        STUDIES,
        {"drift_study": {"methods": ["noise_injection", "noise_injection"]}},
        "drift_study.methods: items [0] 'noise_injection' and [1] 'noise_injection'",
    ),
    (
        "two drift cards labelled 1 s",
        STUDIES,
        {"drift_study": {"times_s": [1, 1, 2]}},
        "drift_study.times_s: items [0] 1 and [1] 1 are both spelled '1 s' in the card's label",
    ),
    (
        "two drift cards labelled 1 d",
        STUDIES,
        {"drift_study": {"times_s": [1, 86400, 86400.0001]}},
        "drift_study.times_s: items [1] 86400 and [2] 86400.0001 are both spelled '1 d'",
    ),
    (
        "a probe method twice",
        STUDIES,
        {"worst_case_probe": {"enabled": True, "methods": ["plain", "plain"]}},
        "worst_case_probe.methods: items [0] 'plain' and [1] 'plain'",
    ),
    (
        "a training sigma spelled twice",
        TEST_PRESET,
        {"methods": {"ovf": {"train_at": [0.1, 0.10000]}}},
        "methods.ovf.train_at: items [0] 0.1 and [1] 0.1 are both spelled '0.1' in the training sigma",
    ),
    (
        "a beta sweep naming one variant twice",
        TEST_PRESET,
        {"ablation": {"enabled": True, "beta_sweep": {"ovf": [0.1, 0.1000001]}}},
        "ablation.beta_sweep.ovf: items [0] 0.1 and [1] 0.1000001 are both spelled 'ovf_beta0.1'",
    ),
    (
        "a model/dataset pair twice",
        TEST_PRESET,
        {"experiments": {"pairs": [{"model": "vgg8", "dataset": "mnist"}, {"model": "vgg8", "dataset": "mnist"}]}},
        "experiments.pairs: items [0] {'model': 'vgg8', 'dataset': 'mnist'} and [1]",
    ),
    (
        "a convergence method twice",
        TEST_PRESET,
        {"convergence": {"methods": ["plain", "plain"]}},
        "convergence.methods: items [0] 'plain' and [1] 'plain'",
    ),
]


@pytest.mark.parametrize("preset,extra,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_items_spelled_alike_are_refused_naming_the_key(preset, extra, fragment):
    with pytest.raises(ConfigError) as err:
        validate_config(load_config(preset, extra=extra), SCHEMA, REPO)
    assert fragment in str(err.value), str(err.value)


def test_values_that_differ_in_their_spelling_pass():
    extra = {
        "nonidealities": {"read_noise": [0.05, 0.051], "stuck_fraction": [0.001, 0.002]},
        "drift_study": {"times_s": [1, 2, 86400]},
    }
    validate_config(load_config(STUDIES, extra=extra), SCHEMA, REPO)


def _arrays(schema, path=""):
    """Every list in the config schema, with its key (``*`` for a named entry)."""
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "array" or "items" in schema:
        yield path, schema
    for key, sub in schema.get("properties", {}).items():
        yield from _arrays(sub, f"{path}.{key}" if path else key)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _arrays(schema["additionalProperties"], f"{path}.*")
    for sub in schema.get("oneOf", []):
        yield from _arrays(sub, path)


#: lists that need no check here, and why
EXEMPT = {
    "sigmas": "semantic_problems: duplicates after rounding to 4 decimals",
    "scale_study.paper_sigmas": "scale_study_problems: duplicates after rounding to 4 decimals",
    "scale_study.rungs": "scale_study_problems: two rungs share a (width, epochs)",
}


def test_every_list_of_the_schema_is_checked_for_spelling():
    """A new list in the schema must say how its items are spelled (SPELLED), or hold items whose spelling is their
    value (uniqueItems over integers, strings or names), or be exempt with its reason."""
    unchecked = []
    for path, sub in _arrays(load_schema(SCHEMA)):
        items = sub.get("items", {})
        value_spelled = sub.get("uniqueItems") and (
            items.get("type") in ("integer", "string") or items.get("$ref") in ("#/$defs/name", "#/$defs/seed")
        )
        if path in SPELLED or path in EXEMPT or value_spelled:
            continue
        unchecked.append(path)
    assert not unchecked, f"lists whose items are not checked for spelling collisions: {unchecked}"


@pytest.mark.workflow
def test_the_cli_refuses_before_any_job(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({"nonidealities": {"read_noise": [0.05, 0.05000001]}}))
    proc = snakemake("reproduce_all", "-n", "--configfile", str(REPO / STUDIES), str(cfg), cwd=tmp_path, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "nonidealities.read_noise: items [0] 0.05" in out, out[-3000:]
    assert not (tmp_path / "results").exists()
