import pytest

from neft.experiment import grid
from neft.experiment.config import ConfigError, validate_config
from neft.util.sigma import format_sigma, parse_sigma

from .conftest import SCHEMA, load_config


@pytest.mark.parametrize(
    "presets",
    [
        (),
        ("config/presets/test.yaml",),
        ("config/presets/paper.yaml",),
        ("config/presets/paper-smoke.yaml",),
        ("config/presets/scale.yaml",),
        ("config/presets/paper.yaml", "config/presets/scale-gpu.yaml"),
    ],
)
def test_shipped_configs_are_valid(presets):
    cfg = validate_config(load_config(*presets), SCHEMA)
    assert cfg["models"]["vgg8"]["lr"] == 1e-3
    assert cfg["mc"]["chips"] >= 1


#: what the paper-smoke preset may change in the paper preset: sizes, the device (CPU or GPU), and the synthetic
#: datasets' folder and checksums. Everything else (grid, methods, studies, selection, schedule, seeds) is the paper's.
SMOKE_MAY_CHANGE = {
    "scale",
    "training.epochs",
    "training.batch_size",
    "training.eval_batch_size",
    "models.vgg8.width",
    "models.resnet18.width",
    "data.train_subset",
    "data.val_size",
    "data.test_subset",
    "mc.chips",
    "mc.batch_size",
    "compute.device",
    "compute.threads",
    "compute.train_runtime",
    "compute.mc_runtime",
    "compute.mem_mb",
    "compute.warm_start",
}


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def test_paper_smoke_is_the_paper_preset_with_only_sizes_shrunk():
    paper = _flatten(validate_config(load_config("config/presets/paper.yaml"), SCHEMA))
    smoke = _flatten(validate_config(load_config("config/presets/paper-smoke.yaml"), SCHEMA))
    changed = {k for k in paper.keys() | smoke.keys() if paper.get(k) != smoke.get(k)}
    datasets = {k for k in changed if k.startswith("datasets.")}
    assert changed - datasets - {"datasets"} <= SMOKE_MAY_CHANGE, sorted(changed - datasets - SMOKE_MAY_CHANGE)
    assert {k.rsplit(".", 1)[-1] for k in datasets} == {"path", "md5", "train_size", "test_size"}  # (the paper
    # preset has no entry)
    assert smoke["training.selection.split"] == "test" and len(smoke["experiments.pairs"]) == 6
    assert smoke["mc.chips"] < paper["mc.chips"] and smoke["training.epochs"] < paper["training.epochs"]


def test_defaults_are_filled():
    cfg = validate_config(load_config(extra={"training": {"epochs": 2}}), SCHEMA)
    assert cfg["training"]["batch_size"] == 128
    assert cfg["training"]["schedule"] == "cosine"
    assert cfg["methods"]["plain"]["params"] == {}
    assert cfg["compute"]["device"] == "auto"


BAD = [
    (
        {"experiments": {"methods": ["plain", "dropout"]}},
        "experiments.methods[1]: 'dropout'",
        "allowed values: aihwkit_hwa, correctnet, irs,",
    ),
    (
        {"experiments": {"pairs": [{"model": "alexnet", "dataset": "mnist"}]}},
        "experiments.pairs[0].model",
        "resnet18, vgg8",
    ),
    ({"experiments": {"pairs": [{"model": "vgg8", "dataset": "svhn"}]}}, "experiments.pairs[0].dataset", "cifar10"),
    ({"experiments": {"devices": ["PCM"]}}, "experiments.devices[0]", "RRAM1"),
    ({"sigmas": [0, 1.5]}, "sigmas[1]", "out of range"),
    ({"sigmas": [0, 0.00001]}, "sigmas[1]", "more than 4 decimals"),
    ({"mc": {"chips": -5}}, "mc.chips", "out of range"),
    ({"training": {"epochs": "ten"}}, "training.epochs", "expected an integer"),
    ({"training": {"selection": {"split": "train"}}}, "training.selection.split", "allowed values: val, test"),
    ({"methods": {"plain": {"kind": "magic"}}}, "methods.plain.kind", "correctnet, irs, noise_injection, ovf, plain"),
    ({"methods": {"plain": {"params": {"beta": 0.1}}}}, "methods.plain.params", "no parameter(s) beta"),
    ({"methods": {"noise_injection": {"train_at": [0.3]}}}, "methods.noise_injection.train_at", "not on the grid"),
    ({"methods": {"noise_injection": {"train_at": "some"}}}, "methods.noise_injection.train_at", "zero, nonzero, all"),
    ({"compute": {"device": "tpu"}}, "compute.device", "does not match"),
    ({"mc": {"chipz": 3}}, "mc: unknown key(s) chipz", "allowed keys: adaptive, batch_size, chips"),
    ({"figures": {"formats": ["gif"]}}, "figures.formats[0]", "pdf, png, svg"),
    ({"ablation": {"sigmas": [0.5]}}, "ablation.sigmas: sigma 0.5 is not on the grid", "0.035"),
    (
        {"ablation": {"instances": {"ovf": {"temperature": "t4"}}}},
        "ablation.instances.ovf.temperature: 't4'",
        "ovf_beta0",
    ),
    ({"ablation": {"beta_sweep": {"plain": [0.1]}}}, "ablation.beta_sweep.plain", "has no beta"),
    ({"ablation": {"sigmas": [0]}}, "ablation.sigmas: 'noise_injection' is not trained at 0", "train_at"),
    ({"methods": {"ovf": {"params": {"raise_in": "some"}}}}, "methods.ovf.params", "allowed: all, authors"),
    ({"methods": {"irs": {"params": {"beta": [1]}}}}, "methods.irs.params", "beta"),
    ({"nonidealities": {"enabled": True, "methods": ["ovf", "nope"]}}, "nonidealities.methods[1]", "correctnet"),
    ({"nonidealities": {"enabled": True, "methods": ["ovf"]}}, "nonidealities.baseline", "(ovf)"),
    ({"nonidealities": {"enabled": True, "sigma": 0.2}}, "nonidealities.sigma: sigma 0.2 is not on the grid", "0.07"),
    ({"nonidealities": {"enabled": True, "adc_bits": [0]}}, "nonidealities.adc_bits[0]", "minimum"),
    (
        {"nonidealities": {"enabled": True, "read_noise": [], "dac_bits": [], "adc_bits": [], "stuck_fraction": []}},
        "nonidealities: enabled, but none of",
        "read_noise",
    ),
    ({"nonidealities": {"enabled": True}, "mc": {"chips_per_pass": 4}}, "mc.chips_per_pass", "set it to 1"),
    ({"drift_study": {"enabled": True, "cards": ["RRAM1"], "times_s": [1]}}, "drift_study.cards[0]", "RRAM_Wan2022_1d"),
    ({"drift_study": {"enabled": True, "times_s": [1, 2]}}, "drift_study.times_s: 2 times for 3 cards", "one time"),
    ({"drift_study": {"enabled": True, "times_s": [3, 2, 1]}}, "drift_study.times_s: times must be", "increasing"),
    ({"drift_study": {"enabled": True, "sigma_rule": "guess"}}, "drift_study.sigma_rule", "relative, measured"),
]


@pytest.mark.parametrize("extra,key,allowed", BAD, ids=[b[1] for b in BAD])
def test_invalid_config_names_key_and_allowed_values(extra, key, allowed):
    with pytest.raises(ConfigError) as err:
        validate_config(load_config(extra=extra), SCHEMA)
    assert key in str(err.value) and allowed in str(err.value)


def test_sigma_spelling_is_canonical():
    assert [format_sigma(s) for s in (0, 0.0, "0.050", 0.1, 0.0175, 1)] == ["0", "0", "0.05", "0.1", "0.0175", "1"]
    assert parse_sigma(0.15) == parse_sigma("0.15")
    for bad in (-0.1, 1.01, "x", float("nan")):
        with pytest.raises(ValueError):
            parse_sigma(bad)


def test_grid_of_the_mini_scale():
    cfg = validate_config(load_config(), SCHEMA)
    evals = grid.main_evaluations(cfg)
    runs = list(dict.fromkeys(e.run for e in evals))
    n_sigma, n_seed = len(cfg["sigmas"]), len(cfg["experiments"]["seeds"])
    assert n_seed >= 3  # issue 13: every claim point on at least three training seeds
    assert sum(r.method == "plain" for r in runs) == n_seed
    assert sum(r.method == "noise_injection" for r in runs) == (n_sigma - 1) * n_seed
    assert sum(e.run.method == "plain" for e in evals) == n_sigma * n_seed
    assert all(e.sigma_test == e.run.sigma for e in evals if e.run.method == "noise_injection")


def test_full_grid_switch_evaluates_every_run_everywhere():
    cfg = validate_config(load_config(extra={"mc": {"full_grid": True}}), SCHEMA)
    n = len(cfg["sigmas"])
    evals = grid.main_evaluations(cfg)
    assert len(set(evals)) == len({e.run for e in evals}) * n


def test_paper_preset_is_the_paper_grid():
    cfg = validate_config(load_config("config/presets/paper.yaml"), SCHEMA)
    assert grid.grid_sigmas(cfg) == ["0", "0.05", "0.1", "0.15", "0.2", "0.25", "0.3", "0.35", "0.4"]
    assert cfg["methods"]["ovf"]["params"]["offsets"] == [0.15, 0.10, 0.05]
    assert cfg["methods"]["ovf"]["params"]["beta"] == cfg["methods"]["irs"]["params"]["beta"] == "paper"
    assert cfg["training"]["epochs"] == 200 and cfg["mc"]["chips"] == 1000 and cfg["data"]["test_subset"] is None
    assert cfg["training"]["selection"]["split"] == "test"  # the authors' (faithful) choice
    assert all(m["width"] == 1.0 for m in cfg["models"].values())
    assert not cfg["ablation"]["enabled"]
    runs = [e.run for e in grid.main_evaluations(cfg)]
    runs = list(dict.fromkeys(runs))
    assert len(runs) == 258  # 43 trainings per pair, 6 pairs
    per_method = {m: sum(r.method == m for r in runs) / 6 for m in cfg["experiments"]["methods"]}
    assert per_method == {"plain": 1, "noise_injection": 8, "correctnet": 8, "ovf": 9, "irs": 9, "aihwkit_hwa": 8}


def test_beta_sweep_adds_variants_at_the_sweep_sigmas():
    cfg = validate_config(load_config(), SCHEMA)
    assert cfg["methods"]["ovf_beta0.01"]["params"]["beta"] == 0.01
    assert cfg["methods"]["ovf_beta0.01"]["params"]["offsets"] == cfg["methods"]["ovf"]["params"]["offsets"]
    sweep = [r for r in grid.runs(cfg) if "_beta0." in r.method]
    assert {r.sigma for r in sweep} == {grid.format_sigma(s) for s in cfg["ablation"]["sweep_sigmas"]}
    assert {r.seed for r in sweep} == set(cfg["ablation"]["sweep_seeds"])
    controls = [r for r in grid.runs(cfg) if r.method in ("ovf_beta0", "irs_beta0", "ni_temperature")]
    assert len(controls) == 3 * len(cfg["ablation"]["sigmas"]) * len(cfg["experiments"]["seeds"])


def test_study_seeds_default_to_the_grids():
    raw = load_config()
    del raw["device_study"]["seeds"], raw["ablation"]["sweep_seeds"]
    cfg = validate_config(raw, SCHEMA)
    assert grid.study_seeds(cfg, cfg["device_study"]) == cfg["experiments"]["seeds"]
    assert grid.run_seeds(cfg, "ovf_beta0.01") == cfg["experiments"]["seeds"]


def test_studies_add_runs_on_other_devices_and_seeds():
    cfg = validate_config(load_config(), SCHEMA)
    study = grid.device_study_evaluations(cfg)
    assert {e.device for e in study} == {"RRAM1", "FeFET2", "RRAM4", "FeFET6"}
    plain = [e for e in study if e.run.method == "plain"]
    assert {e.run.device for e in plain} == {"RRAM1"}  # one noise-free model evaluated on every card
    assert {e.device for e in plain} == {"RRAM1", "FeFET2", "RRAM4", "FeFET6"}
    ovf = [e for e in study if e.run.method == "ovf"]
    assert {e.run.device for e in ovf} == {"RRAM1", "FeFET2", "RRAM4", "FeFET6"}  # trained on each card
    assert {e.run.seed for e in study if e.device != "RRAM1"} == {0}  # device_study.seeds
    conv = grid.convergence_runs(cfg)
    assert {r.seed for r in conv} == {0, 1, 2} and {r.sigma for r in conv} == {"0.14"}
    # the convergence study's runs are the grid's own: no training of its own
    assert set(conv) <= {e.run for e in grid.main_evaluations(cfg)}
    assert len(grid.runs(cfg)) == len(set(grid.runs(cfg)))


def test_paths_are_key_value_segments():
    cfg = validate_config(load_config(), SCHEMA)
    e = [e for e in grid.evaluations(cfg) if e.run.method == "noise_injection"][0]
    assert e.path == f"vgg8/mnist/noise_injection/RRAM1/sigma~{e.run.sigma}/seed~0/test~{e.run.sigma}"


@pytest.mark.parametrize(
    ("ladder", "message"),
    [
        (
            {"methods": ["plain", "nope"]},
            "scale_study.methods[1]: 'nope' is not defined under methods; allowed values:",
        ),
        ({"methods": ["ovf", "irs"]}, "scale_study.sigma_rule.reference_method: 'plain' must be one of"),
        ({"sigma_rule": {"reference_method": "ovf"}}, "'ovf' must be a method of kind plain"),
        (
            {"rungs": [{"width": 0.0625, "epochs": 2}, {"width": 0.06250, "epochs": 2}]},
            "scale_study.rungs: two rungs share a (width, epochs)",
        ),
        ({"paper_sigmas": [0.4, 0.40001]}, "scale_study.paper_sigmas[1]: sigma 0.40001 has more than 4 decimals"),
        ({"paper_sigmas": [0.4, 0.4000]}, "non-unique"),
        ({"sigma_rule": {"factor_min": 2, "factor_max": 1.5}}, "factor_min: 2 must be below factor_max (1.5)"),
        ({"sigma_rule": {"factor_max": 3}}, "scale_study.sigma_rule.factor_max: 3 x the largest sigma"),
        ({"rungs": [{"width": 0.0625, "epochs": 0}]}, "scale_study.rungs[0].epochs"),
        ({"seeds": []}, "scale_study.seeds"),
    ],
)
def test_an_invalid_ladder_is_rejected_naming_the_key(ladder, message):
    with pytest.raises(ConfigError) as err:
        validate_config(load_config(extra={"scale_study": {"enabled": True} | ladder}), SCHEMA)
    assert message in str(err.value)
