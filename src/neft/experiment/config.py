"""Config validation before any job runs: JSON schema (types, ranges, defaults) plus the checks a schema cannot
express (names that must exist in a registry, sigmas on the grid). Every message names the key and what is allowed.
"""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import jsonschema
import yaml

from neft.core.data.registry import DatasetError, DatasetSpec, merged_registry
from neft.core.devices import DeviceCardError, get, preset_names
from neft.core.methods import METHODS, build_method
from neft.core.methods.neft_loss import resolve_beta
from neft.core.models import MODELS, ModelSpec, size_problems
from neft.experiment import grid
from neft.experiment.grid import grid_sigmas, train_sigmas
from neft.experiment.spelling import spelling_problems
from neft.util.checks import shape_problem
from neft.util.sigma import format_sigma

#: Names given in the config (methods, devices, datasets): the schema's ``$defs.name`` pattern, repeated here for
#: the wildcard constraints of the workflow (workflow/rules/common.smk), which must agree with it.
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
#: Names the config derives (beta-sweep variants ``<method>_beta<beta>``): a name, then the beta as ``%g`` writes it.
DERIVED_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}_beta[0-9][0-9.e-]*")

#: The paper's learning rates (section 7), used when ``models.<name>.lr`` is null.


class ConfigError(ValueError):
    """The configuration is invalid; the message lists every problem found."""


def _key(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<top level>"


def fill_defaults(instance, schema: dict) -> None:
    """Insert schema defaults into ``instance`` in place (recursing into objects and ``additionalProperties``)."""
    if not isinstance(instance, dict) or schema.get("type") not in ("object", None):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = yaml.safe_load(yaml.safe_dump(sub["default"]))  # deep copy
        if key in instance:
            fill_defaults(instance[key], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                fill_defaults(value, extra)


def _is_integer(_checker, value) -> bool:
    """An int, not a bool and not 8.0: a float where a count or seed belongs is a mistake, never rounded."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(_checker, value) -> bool:
    """A finite int or float, not a bool: NaN fails no ``minimum`` check, so it must fail the type."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


#: Draft 2020-12 with strict integers and finite numbers.
StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    ),
)


def non_finite_numbers(value, path=()) -> list[str]:
    """Every NaN or infinity anywhere in ``value`` (free-form mappings such as method params included)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{_key(path)}: {value!r} is not a finite number (NaN and infinity are never valid here)"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in non_finite_numbers(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in non_finite_numbers(v, (*path, i))]
    return []


_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a finite number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


def _describe(error: jsonschema.ValidationError) -> str:
    key = _key(error.absolute_path)
    v = error.validator
    if v == "type":
        want = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in want)
        got = "true/false" if isinstance(error.instance, bool) else type(error.instance).__name__
        return f"{key}: {error.instance!r} ({got}) is not allowed; expected {words}"
    if v == "pattern" and "propertyNames" in error.schema_path:
        return (
            f"{key}: the name {error.instance!r} is not allowed: names become file paths and wildcards, so they are "
            f"a letter followed by up to 63 letters, digits, '_' or '-' (pattern {error.validator_value})"
        )
    if v == "pattern" and "x-expected" in error.schema:  # the schema says what the pattern means
        return f"{key}: {error.instance!r} is not allowed; expected {error.schema['x-expected']}"
    if v == "pattern":
        return f"{key}: {error.instance!r} does not match the pattern {error.validator_value}"
    if v == "enum" and "propertyNames" in error.schema_path:
        allowed = ", ".join(map(str, error.validator_value))
        return f"{key}: unknown key {error.instance!r}; allowed keys: {allowed}"
    if v == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"{key}: {error.instance!r} is not allowed; allowed values: {allowed}"
    if v == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {}))) or "none"
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{key}: unknown key(s) {', '.join(extra)}; allowed keys: {allowed}"
    if v == "oneOf":
        options = []
        for sub in error.validator_value:
            if "enum" in sub:
                options.append("one of " + ", ".join(map(str, sub["enum"])))
            elif sub.get("type") == "array":
                options.append("a list of sigmas in [0, 1]")
        return f"{key}: {error.instance!r} is not allowed; expected {' or '.join(options)}"
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"{key}: {error.instance!r} is out of range ({v} {error.validator_value})"
    return f"{key}: {error.message}"


def load_schema(path: str | Path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def validate_config(config: dict, schema_path: str | Path, base_dir: str | Path = ".") -> dict:
    """Fill defaults and validate in place; raise ``ConfigError`` listing every problem.

    Relative data paths in the config (``fitted_devices.*.data``) are resolved against ``base_dir``, the
    repository root, so the workflow can run in any working directory."""
    schema = load_schema(schema_path)
    if not isinstance(config, dict):
        raise ConfigError(f"invalid config: expected a mapping of keys at the top level, got {type(config).__name__}")
    shape = shape_problem(config)  # before any walk: an alias bomb or a cycle would hang or crash each one
    if shape is not None:
        raise ConfigError(f"invalid config: {shape}")
    problems = non_finite_numbers(config)
    if problems:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(problems))
    fill_defaults(config, schema)
    validator = StrictValidator(schema)
    problems = sorted({_describe(e) for e in validator.iter_errors(config)})
    if problems:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(problems))
    problems = expand_beta_sweep(config)
    problems += semantic_problems(config, Path(base_dir))
    if not problems:
        problems = paper_beta_problems(config)
    if problems:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(problems))
    for name, entry in config["models"].items():
        if entry.get("lr") is None:  # null: the paper's (neft.core.models.ModelSpec)
            entry["lr"] = ModelSpec(name).lr
    for model in {p["model"] for p in config["experiments"]["pairs"]}:
        config["models"].setdefault(model, ModelSpec(model).params())
    return config


def expand_beta_sweep(config: dict) -> list[str]:
    """Add one method variant per (method, beta) of ``ablation.beta_sweep``, trained at ``ablation.sweep_sigmas``."""
    ab = config["ablation"]
    problems = []
    if not ab.get("enabled"):
        return problems
    for method, betas in ab.get("beta_sweep", {}).items():
        if method not in config["methods"]:
            problems.append(
                f"ablation.beta_sweep.{method}: not a method; allowed values: {', '.join(config['methods'])}"
            )
            continue
        base = config["methods"][method]
        if base.get("kind") not in METHODS:
            continue  # reported by semantic_problems as methods.<name>.kind, with the allowed kinds
        if "beta" not in build_method(base["kind"], {}).parameter_names():
            problems.append(f"ablation.beta_sweep.{method}: method kind {base['kind']!r} has no beta")
            continue
        for beta in betas:
            name = grid.sweep_name(method, beta)
            if not DERIVED_NAME.fullmatch(name):
                problems.append(
                    f"ablation.beta_sweep.{method}: beta {beta!r} gives the variant name {name!r}, which is not a "
                    f"valid name ({DERIVED_NAME.pattern}); use a plain decimal beta"
                )
                continue
            variant = yaml.safe_load(yaml.safe_dump(base))
            variant["params"] = dict(variant.get("params") or {}, beta=beta)
            variant["label"] = f"{base.get('label', method)} (beta={float(beta):g})"
            variant["train_at"] = list(ab["sweep_sigmas"])
            variant["test_at"] = "train"
            variant["zero_from"] = None
            config["methods"].setdefault(name, variant)
    if ab.get("enabled") and ab.get("beta_sweep") and not ab["sweep_sigmas"]:
        problems.append("ablation.sweep_sigmas: empty, but ablation.beta_sweep lists betas")
    return problems


def paper_beta_problems(config: dict) -> list[str]:
    """beta 'paper' needs the paper's value for every (model, dataset) the method is trained on (run only on an
    otherwise valid config: it walks the grid)."""

    problems, seen = [], set()
    for run in grid.runs(config):
        entry = config["methods"][run.method]
        if (run.method, run.model, run.dataset) in seen:
            continue
        seen.add((run.method, run.model, run.dataset))
        if getattr(build_method(entry["kind"], entry.get("params")), "beta", None) == "paper":
            try:
                resolve_beta("paper", run.model, run.dataset, entry["kind"])
            except ValueError as err:
                problems.append(f"methods.{run.method}.params.beta: {err}")
    return problems


def off_grid(key: str, values: list, grid: list[str]) -> list[str]:
    """Problems for sigmas that are invalid or not on the grid a target needs."""
    problems = []
    for s in values:
        try:
            if format_sigma(s) not in grid:
                problems.append(f"{key}: sigma {s} is not on the grid `sigmas` ({', '.join(grid)})")
        except ValueError as err:
            problems.append(f"{key}: {err}")
    return problems


def semantic_problems(config: dict, base_dir: Path = Path(".")) -> list[str]:
    problems: list[str] = []
    exp = config["experiments"]
    # sigmas: exact decimals, unique after canonical spelling
    sig: list[str] = []
    for i, s in enumerate(config["sigmas"]):
        try:
            sig.append(format_sigma(s))
        except ValueError as err:
            problems.append(f"sigmas[{i}]: {err}")
    if len(set(sig)) != len(sig):
        problems.append(f"sigmas: duplicates after rounding to 4 decimals: {sig}")
    problems += spelling_problems(config)  # the other lists whose items become paths, labels or rows
    # models and datasets
    for i, pair in enumerate(exp["pairs"]):
        if pair["model"] not in MODELS:
            problems.append(
                f"experiments.pairs[{i}].model: {pair['model']!r} is not allowed; allowed values: "
                + ", ".join(sorted(MODELS))
            )
    registry = merged_registry(config.get("datasets"))
    for i, pair in enumerate(exp["pairs"]):
        name = pair["dataset"]
        if name not in registry:
            problems.append(
                f"experiments.pairs[{i}].dataset: {name!r} is not allowed; allowed values: "
                + ", ".join(sorted(registry))
            )
            continue
        try:
            DatasetSpec.from_dict(name, registry[name])
        except DatasetError as err:
            problems.append(f"datasets.{name}: {err}")
    for name in config.get("models", {}):
        if name not in MODELS:
            problems.append(f"models.{name}: unknown model; allowed values: {', '.join(sorted(MODELS))}")
    # methods
    for i, name in enumerate(exp["methods"]):
        if name not in config["methods"]:
            problems.append(
                f"experiments.methods[{i}]: {name!r} is not defined under methods; allowed values: "
                + ", ".join(sorted(config["methods"]))
            )
    for name, entry in config["methods"].items():
        key = f"methods.{name}"
        if entry["kind"] not in METHODS:
            allowed = ", ".join(sorted(METHODS))
            problems.append(f"{key}.kind: {entry['kind']!r} is not allowed; allowed values: {allowed}")
            continue
        try:
            build_method(entry["kind"], entry.get("params"))
        except (TypeError, ValueError) as err:
            problems.append(f"{key}.params: {err}")
        for field in ("train_at", "test_at"):
            if isinstance(entry.get(field), list):
                problems += off_grid(f"{key}.{field}", entry[field], sig)
        zero = entry.get("zero_from")
        if zero is not None:
            if zero not in config["methods"]:
                allowed = ", ".join(config["methods"])
                problems.append(f"{key}.zero_from: {zero!r} is not a method; allowed values: {allowed}")
            elif not problems and "0" not in train_sigmas(config, zero) and "0" in grid_sigmas(config):
                problems.append(f"{key}.zero_from: method {zero!r} is not trained at sigma 0")
            elif zero not in exp["methods"]:
                problems.append(f"{key}.zero_from: method {zero!r} must also be listed in experiments.methods")
    # ablation
    ab = config["ablation"]
    if ab.get("enabled"):
        for key in ("sigmas", "sweep_sigmas"):
            problems += off_grid(f"ablation.{key}", ab[key], sig)
        if not ab["sigmas"]:
            problems.append("ablation.sigmas: must list at least one sigma when ablation.enabled is true")
        names = [("ablation.baseline", ab["baseline"])]
        for inst, controls in ab["instances"].items():
            names += [(f"ablation.instances.{inst}", inst)]
            names += [(f"ablation.instances.{inst}.{k}", v) for k, v in controls.items()]
        for key, name in names:
            if name not in config["methods"]:
                problems.append(
                    f"{key}: {name!r} is not defined under methods; allowed values: {', '.join(config['methods'])}"
                )
        if not problems:
            for inst in [ab["baseline"], *ab["instances"]]:
                missing = [s for s in map(format_sigma, ab["sigmas"]) if s not in train_sigmas(config, inst)]
                if missing:
                    problems.append(
                        f"ablation.sigmas: {inst!r} is not trained at {', '.join(missing)} (its train_at), so the "
                        "controls would have nothing to be compared with"
                    )
    # devices: shipped presets or fitted cards
    fitted = config.get("fitted_devices", {})
    allowed_devices = preset_names() + sorted(fitted)
    for name, entry in fitted.items():
        if name in preset_names():
            problems.append(f"fitted_devices.{name}: the name of a shipped preset; choose another name")
        if not (base_dir / entry["data"]).exists():
            problems.append(f"fitted_devices.{name}.data: file not found: {entry['data']}")
    device_lists = [("experiments.devices", exp["devices"])]
    if config["device_study"].get("enabled"):
        device_lists.append(("device_study.devices", config["device_study"]["devices"]))
    for key, names in device_lists:
        for i, name in enumerate(names):
            if name in fitted:
                continue
            try:
                get(name)
            except DeviceCardError:
                problems.append(f"{key}[{i}]: {name!r} is not allowed; allowed values: {', '.join(allowed_devices)}")
    # studies: methods defined, sigmas on the grid
    for study in ("convergence", "device_study"):
        cfg = config[study]
        if not cfg.get("enabled"):
            continue
        if not cfg["methods"] or not cfg["sigmas"]:
            problems.append(f"{study}: enabled, so {study}.methods and {study}.sigmas must not be empty")
        for i, m in enumerate(cfg["methods"]):
            if m not in config["methods"]:
                problems.append(
                    f"{study}.methods[{i}]: {m!r} is not defined under methods; allowed values: "
                    + ", ".join(config["methods"])
                )
        problems += off_grid(f"{study}.sigmas", cfg["sigmas"], sig)
    problems += nonideal_problems(config, sig)
    problems += scale_study_problems(config)
    cross = config["crosscheck"]
    if cross.get("enabled"):
        for role in ("ours", "theirs"):  # a defined method; the table is built when both are trained
            if cross[role] not in config["methods"]:
                problems.append(
                    f"crosscheck.{role}: {cross[role]!r} is not defined under methods; allowed values: "
                    + ", ".join(config["methods"])
                )
    problems += aihwkit_problems(config)
    problems += size_problems_of(config, registry)
    conv = config["convergence"]
    if conv.get("enabled") and conv["reference"] not in config["methods"]:
        problems.append(f"convergence.reference: {conv['reference']!r} is not defined under methods")
    ad = config["mc"]["adaptive"]
    if ad.get("enabled") and ad["min_chips"] > ad["max_chips"]:
        problems.append(f"mc.adaptive.min_chips: {ad['min_chips']} exceeds mc.adaptive.max_chips ({ad['max_chips']})")
    return problems


def scale_study_problems(config: dict) -> list[str]:
    """The ladder (``scale_study``): defined methods, a noise-free reference among them, rungs and paper sigmas that
    spell distinctly, a factor sweep that runs upwards."""
    study = config["scale_study"]
    if not study.get("enabled"):
        return []
    problems = []
    for i, m in enumerate(study["methods"]):
        if m not in config["methods"]:
            problems.append(
                f"scale_study.methods[{i}]: {m!r} is not defined under methods; allowed values: "
                + ", ".join(config["methods"])
            )
    rule = study["sigma_rule"]
    ref = rule["reference_method"]
    if ref not in study["methods"]:
        problems.append(
            f"scale_study.sigma_rule.reference_method: {ref!r} must be one of scale_study.methods "
            f"({', '.join(study['methods'])})"
        )
    elif ref in config["methods"] and config["methods"][ref]["kind"] != "plain":
        problems.append(f"scale_study.sigma_rule.reference_method: {ref!r} must be a method of kind plain")
    spelled = [(format(float(r["width"]), "g"), int(r["epochs"])) for r in study["rungs"]]
    if len(set(spelled)) != len(spelled):
        problems.append(f"scale_study.rungs: two rungs share a (width, epochs): {spelled}")
    paper = []
    for i, s in enumerate(study["paper_sigmas"]):
        try:
            paper.append(format_sigma(s))
        except ValueError as err:
            problems.append(f"scale_study.paper_sigmas[{i}]: {err}")
    if len(set(paper)) != len(paper):
        problems.append(f"scale_study.paper_sigmas: duplicates after rounding to 4 decimals: {paper}")
    if rule["factor_min"] >= rule["factor_max"]:
        problems.append(
            f"scale_study.sigma_rule.factor_min: {rule['factor_min']} must be below factor_max ({rule['factor_max']})"
        )
    if rule["factor_max"] * rule["reference_sigma"] > 1 or rule["factor_max"] * max(study["paper_sigmas"]) > 1:
        problems.append(
            f"scale_study.sigma_rule.factor_max: {rule['factor_max']} x the largest sigma it scales exceeds 1"
        )
    return problems


def nonideal_problems(config: dict, on_grid: list[str]) -> list[str]:
    """The non-idealities and drift studies: defined methods, a baseline among them, a sigma on the grid at which
    every method has a point, fitted cards with one time each, and one chip per MC pass."""
    problems = []
    for key in ("nonidealities", "drift_study"):
        study = config.get(key) or {}
        if not study.get("enabled"):
            continue
        if not study["methods"]:
            problems.append(f"{key}: enabled, so {key}.methods must not be empty")
        for i, m in enumerate(study["methods"]):
            if m not in config["methods"]:
                problems.append(
                    f"{key}.methods[{i}]: {m!r} is not defined under methods; allowed values: "
                    + ", ".join(config["methods"])
                )
        if study["baseline"] not in study["methods"]:
            problems.append(
                f"{key}.baseline: {study['baseline']!r} is not one of {key}.methods ({', '.join(study['methods'])})"
            )
        found = off_grid(f"{key}.sigma", [study["sigma"]], on_grid)
        problems += found
        if not found and len(on_grid) == len(config["sigmas"]):  # (a broken grid is reported under `sigmas`)
            sigma = format_sigma(study["sigma"])
            for m in (m for m in study["methods"] if m in config["methods"]):
                source, trained = grid.point_source(config["methods"], m, sigma)
                if source in config["methods"] and trained not in train_sigmas(config, source):
                    problems.append(
                        f"{key}.sigma: {m!r} has no point at {sigma} ({source!r} is not trained at {trained}: its "
                        "train_at)"
                    )
        if config["mc"]["chips_per_pass"] != 1:
            problems.append(
                f"mc.chips_per_pass: {config['mc']['chips_per_pass']}, but {key} runs one chip per pass (read noise, "
                "stuck devices and converters are not vmapped); set it to 1 or disable the study"
            )
    probe = config.get("worst_case_probe") or {}
    if probe.get("enabled"):
        for i, m in enumerate(probe["methods"]):
            if m not in config["methods"]:
                problems.append(
                    f"worst_case_probe.methods[{i}]: {m!r} is not defined under methods; allowed values: "
                    + ", ".join(config["methods"])
                )
        problems += off_grid("worst_case_probe.sigma", [probe["sigma"]], on_grid)
    nonideal = config.get("nonidealities") or {}
    if nonideal.get("enabled") and not any(nonideal.get(k) for k in grid.NONIDEAL_KNOBS):
        problems.append(f"nonidealities: enabled, but none of {', '.join(grid.NONIDEAL_KNOBS)} lists a level")
    drift = config.get("drift_study") or {}
    if drift.get("enabled"):
        fitted = config.get("fitted_devices", {})
        for i, name in enumerate(drift["cards"]):
            if name not in fitted:
                problems.append(
                    f"drift_study.cards[{i}]: {name!r} is not under fitted_devices; allowed values: "
                    + (", ".join(sorted(fitted)) or "(none fitted)")
                )
        if len(drift["times_s"]) != len(drift["cards"]):
            problems.append(
                f"drift_study.times_s: {len(drift['times_s'])} times for {len(drift['cards'])} cards; give one time "
                "per card"
            )
        elif list(drift["times_s"]) != sorted(drift["times_s"]):
            problems.append("drift_study.times_s: times must be in increasing order (the first card is the reference)")
    return problems


def aihwkit_problems(config: dict) -> list[str]:
    """An aihwkit-lightning method needs the package, and a card its weight noise can express (s = 1): a shipped
    card with noisier middle levels is refused here; a fitted one, whose s is known only once fitted, when it
    trains (neft.core.interop.std_dev)."""

    def of_kind(names) -> list[str]:
        return [m for m in names if config["methods"].get(m, {}).get("kind") == "aihwkit_hwa"]

    study = config["device_study"]
    used = of_kind(grid.all_methods(config))
    in_study = of_kind(study["methods"]) if study.get("enabled") else []
    if not used and not in_study:
        return []
    problems = []
    if importlib.util.find_spec("aihwkit_lightning") is None:
        problems.append(
            f"methods.{(used or in_study)[0]}.kind: aihwkit_hwa needs aihwkit-lightning==2.1.0, which is not "
            "installed (install requirements/lock.txt, or pip install -e '.[aihwkit]'), or drop the method"
        )
    for key, methods, names in (
        ("experiments.devices", used, config["experiments"]["devices"]),
        ("device_study.devices", in_study, study.get("devices", [])),
    ):
        for i, name in enumerate(names):
            if methods and name in preset_names() and get(name).middle_multiplier != 1.0:
                problems.append(
                    f"{key}[{i}]: {name!r} has middle levels {get(name).middle_multiplier:g}x noisier (s > 1), which "
                    f"aihwkit-lightning's weight noise cannot express, so {', '.join(methods)} (kind aihwkit_hwa) "
                    "cannot train on it; allowed cards for it: those with middle_multiplier 1 (RRAM1)"
                )
    return problems


def size_problems_of(config: dict, registry: dict) -> list[str]:
    """Sizes that cannot work, found at parse time: splits larger than the dataset's declared sizes, an empty
    training or selection split, a width that rounds a layer to no channel, images too small for the model."""
    problems: list[str] = []
    data, training = config["data"], config["training"]
    for i, pair in enumerate(config["experiments"]["pairs"]):
        name, model = pair["dataset"], pair["model"]
        if name not in registry or model not in MODELS:
            continue  # reported with the allowed names
        try:
            spec = DatasetSpec.from_dict(name, registry[name])
        except DatasetError:
            continue  # reported as datasets.<name>
        where = f"(experiments.pairs[{i}]: {model} on {name})"
        val = data["val_size"] if data["val_size"] is not None else spec.val_size
        val_key = "data.val_size" if data["val_size"] is not None else f"datasets.{name}.val_size"
        if spec.train_size is not None:
            if val >= spec.train_size:
                problems.append(
                    f"{val_key}: {val} validation images leave none of the {spec.train_size} training images of "
                    f"{name} to train on {where}"
                )
                continue
            left = spec.train_size - val
            if data["train_subset"] is not None and data["train_subset"] > left:
                problems.append(
                    f"data.train_subset: {data['train_subset']} exceeds the {left} training images of {name} left "
                    f"after the validation split ({spec.train_size} - {val}) {where}"
                )
            n_train = min(data["train_subset"] or left, left)
            if n_train < 2:
                problems.append(f"data.train_subset: {n_train} training image(s); BatchNorm needs at least 2 {where}")
        if data["val_subset"] is not None and data["val_subset"] > val:
            problems.append(f"data.val_subset: {data['val_subset']} exceeds the validation split ({val_key}: {val})")
        n_val = min(data["val_subset"] or val, val)
        if training["selection"]["split"] == "val" and n_val == 0:
            problems.append(
                f"training.selection.split: 'val', but the validation split of {name} is empty ({val_key}: {val}); "
                "give it images or select on the test set"
            )
        if spec.test_size is not None and data["test_subset"] is not None and data["test_subset"] > spec.test_size:
            problems.append(
                f"data.test_subset: {data['test_subset']} exceeds the {spec.test_size} test images of {name} {where}"
            )
        width = config.get("models", {}).get(model, {}).get("width", 1.0)
        problems += [f"models.{model}.width: {p} {where}" for p in size_problems(model, width, spec.image_size)]
    return sorted(set(problems), key=problems.index)
