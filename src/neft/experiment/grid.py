"""The experiment grid: which models are trained and which Monte-Carlo sweeps run, derived from the config alone.

Both the Snakefile (to build the DAG) and the aggregation code (to label results) read the grid from here, so
the jobs and the tables cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from neft.util.sigma import format_sigma


@dataclass(frozen=True, order=True)
class Run:
    """One training: (model, dataset, method, device, sigma_train, seed)."""

    model: str
    dataset: str
    method: str
    device: str
    sigma: str
    seed: int

    @property
    def path(self) -> str:
        """The one place the results layout is spelled out (the Snakefile's RUN_PATH pattern is built from it)."""
        return f"{self.model}/{self.dataset}/{self.method}/{self.device}/sigma~{self.sigma}/seed~{self.seed}"


@dataclass(frozen=True, order=True)
class Evaluation:
    """One Monte-Carlo sweep: a trained run evaluated at ``sigma_test`` on chips of ``device``.

    ``device`` is the run's own device, except for noise-free training (W/O Noise), whose one model is evaluated
    on every device card."""

    run: Run
    sigma_test: str
    device: str = ""

    def __post_init__(self) -> None:
        if not self.device:
            object.__setattr__(self, "device", self.run.device)

    @property
    def path(self) -> str:
        return f"{replace(self.run, device=self.device).path}/test~{self.sigma_test}"


def grid_sigmas(config: dict) -> list[str]:
    return [format_sigma(s) for s in config["sigmas"]]


def train_sigmas(config: dict, method: str) -> list[str]:
    """Sigmas a method is trained at: ``zero`` (W/O Noise), ``nonzero`` (W/ Noise: at 0 it *is* W/O Noise),
    ``all`` (OVF and IRS differ from plain training even at 0), ``ablation`` (the ablation sigmas), or a list."""
    spec = config["methods"][method]["train_at"]
    grid = grid_sigmas(config)
    if spec == "zero":
        return ["0"]
    if spec == "nonzero":
        return [s for s in grid if s != "0"]
    if spec == "all":
        return grid
    if spec == "ablation":
        return [format_sigma(s) for s in config["ablation"]["sigmas"]]
    return [format_sigma(s) for s in spec]


#: the ablation's paired comparisons: (name, the role of method a, the role of method b); ``neft.analysis.ablation``
#: computes them, ``neft.experiment.study_handoff.read_ablation`` checks that its table holds each one
COMPARISONS = (
    ("gain", "instance", "baseline"),
    ("temp", "temperature", "baseline"),
    ("structure", "no_feedback", "baseline"),
    ("feedback", "instance", "no_feedback"),
)


def ablation_methods(config: dict) -> list[str]:
    """Method variants the ablation adds to the main ones (temperature and no-feedback controls, beta sweep)."""
    ab = config["ablation"]  # a validated config: the schema's defaults filled in
    if not ab["enabled"]:
        return []
    names = [ab["baseline"]]
    for inst, controls in ab["instances"].items():
        names += [inst, controls["temperature"], controls["no_feedback"]]
    names += [sweep_name(m, b) for m, betas in ab["beta_sweep"].items() for b in betas]
    main = config["experiments"]["methods"]
    return [n for n in dict.fromkeys(names) if n not in main]


def sweep_name(method: str, beta: float) -> str:
    return f"{method}_beta{float(beta):g}"


def all_methods(config: dict) -> list[str]:
    return list(config["experiments"]["methods"]) + ablation_methods(config)


def test_sigmas(config: dict, method: str, sigma_train: str) -> list[str]:
    spec = config["methods"][method]["test_at"]
    if spec == "grid" or config["mc"]["full_grid"]:
        return grid_sigmas(config)
    if spec == "train":
        return [sigma_train]
    return [format_sigma(s) for s in spec]


def point_source(methods: dict, method: str, sigma: str) -> tuple[str, str]:
    """(method, training sigma) of the experiment that stands for ``method``'s plotted point at ``sigma`` (tested
    at ``sigma``): the run trained at ``sigma``; a method trained only at 0 (W/O Noise) is its sigma-0 model at
    every sigma; a method with ``zero_from`` takes that method's sigma-0 model at 0 (W/ Noise at 0 *is* W/O Noise).
    The one statement of this rule: the DAG (:func:`device_study_evaluations`) and the tables
    (``neft.analysis.results.accuracy_curves``) both call it."""
    spec = methods[method]
    if spec.get("train_at") == "zero":
        return method, "0"
    if sigma == "0" and spec.get("zero_from"):
        return spec["zero_from"], "0"
    return method, sigma


def noise_free(config: dict, method: str) -> bool:
    """Training that never sees device noise: one model serves every device card."""
    return config["methods"][method]["kind"] == "plain"


def training_device(config: dict, method: str, device: str) -> str:
    return config["experiments"]["devices"][0] if noise_free(config, method) else device


def _run(config, pair, method, device, sigma, seed) -> Run:
    return Run(pair["model"], pair["dataset"], method, training_device(config, method, device), sigma, int(seed))


def _study(config: dict, key: str) -> dict:
    study = config.get(key) or {}
    return study if study.get("enabled") else {}


def run_seeds(config: dict, method: str) -> list[int]:
    """Training seeds of a main-grid or ablation method: ``experiments.seeds``, except the beta-sweep variants,
    which take ``ablation.sweep_seeds`` when it is set."""
    ab = config["ablation"]
    sweep = {sweep_name(m, b) for m, betas in ab["beta_sweep"].items() for b in betas}
    if method in sweep and ab.get("sweep_seeds"):  # optional, no default: unset means experiments.seeds
        return list(ab["sweep_seeds"])
    return list(config["experiments"]["seeds"])


def main_evaluations(config: dict) -> list[Evaluation]:
    """The paper's figure (main methods) and the ablation, on every configured device."""
    exp = config["experiments"]
    out = []
    for pair in exp["pairs"]:
        for method in all_methods(config):
            for device in exp["devices"]:
                for sigma in train_sigmas(config, method):
                    for seed in run_seeds(config, method):
                        run = _run(config, pair, method, device, sigma, seed)
                        out += [Evaluation(run, t, device) for t in test_sigmas(config, method, sigma)]
    return out


def study_seeds(config: dict, study: dict) -> list[int]:
    """A study's own seeds, or the main grid's (``experiments.seeds``) when it names none."""
    return list(study.get("seeds") or config["experiments"]["seeds"])


def device_study_evaluations(config: dict) -> list[Evaluation]:
    """Every study method trained (and tested) on every study device at the study sigmas."""
    study = _study(config, "device_study")
    out = []
    for pair in config["experiments"]["pairs"] if study else []:
        for method in study["methods"]:
            for device in study["devices"]:
                for sigma in map(format_sigma, study["sigmas"]):
                    source, train_sigma = point_source(config["methods"], method, sigma)
                    for seed in study_seeds(config, study):
                        run = _run(config, pair, source, device, train_sigma, seed)
                        out.append(Evaluation(run, sigma, device))
    return out


#: The non-idealities a card can turn on (``neft.core.devices.NONIDEAL_DEFAULTS``), one axis of the study each.
NONIDEAL_KNOBS = ("read_noise", "dac_bits", "adc_bits", "stuck_fraction")
#: The drift study's axis: its levels are fitted cards, one per time since programming.
DRIFT = "drift"
#: the level of a non-ideality study that is today's card unchanged (the main sweep's chips)
OFF = "off"


@dataclass(frozen=True, order=True)
class Variant:
    """One sweep of a non-ideality study: ``evaluation`` (a main-grid sweep, whose chips it re-uses) with one card
    field set (``study`` = a knob of ``NONIDEAL_KNOBS``, ``level`` its value) or, for ``study == "drift"``, under
    the fitted card named ``level``."""

    evaluation: Evaluation
    study: str
    level: str

    @property
    def path(self) -> str:
        return f"{self.evaluation.path}/{self.study}~{self.level}"


def level_text(value) -> str:
    """One spelling per level for paths and tables: integers as such, other numbers in their shortest form."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return format(float(value), "g")


def time_text(seconds: float) -> str:
    """How a drift card's time since programming reads in tables and on axes: ``1 s``, ``1 h``, ``1 d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _study_evaluations(config: dict, study: dict) -> list[Evaluation]:
    """The main-device sweeps a non-ideality or drift study re-evaluates: each method's point at the study sigma."""
    device = config["experiments"]["devices"][0]
    sigma = format_sigma(study["sigma"])
    out = []
    for pair in config["experiments"]["pairs"]:
        for method in study["methods"]:
            source, train_sigma = point_source(config["methods"], method, sigma)
            for seed in study_seeds(config, study):
                out.append(Evaluation(_run(config, pair, source, device, train_sigma, seed), sigma, device))
    return out


def nonideal_variants(config: dict) -> list[Variant]:
    """Every (sweep, knob, level) of the non-idealities study, one non-ideality on at a time."""
    study = _study(config, "nonidealities")
    if not study:
        return []
    levels = [(k, level_text(v)) for k in NONIDEAL_KNOBS for v in study.get(k, [])]
    return [Variant(e, k, v) for e in _study_evaluations(config, study) for k, v in levels]


def drift_variants(config: dict) -> list[Variant]:
    """Every (sweep, time) of the drift study; the level is the fitted card of that time."""
    study = _study(config, "drift_study")
    if not study:
        return []
    return [Variant(e, DRIFT, card) for e in _study_evaluations(config, study) for card in study["cards"]]


def probe_evaluations(config: dict) -> list[Evaluation]:
    """The sweeps the worst-case probe starts from: each probed method's point at the probe sigma, first seed."""
    study = _study(config, "worst_case_probe")
    if not study:
        return []
    first = {"seeds": [config["experiments"]["seeds"][0]]}
    return _study_evaluations(config, study | first)


def convergence_runs(config: dict) -> list[Run]:
    """Extra seeds of the convergence study (trained, never Monte-Carlo evaluated: the criterion is on the log)."""
    study = _study(config, "convergence")
    device = config["experiments"]["devices"][0]
    return [
        _run(config, pair, method, device, sigma, seed)
        for pair in (config["experiments"]["pairs"] if study else [])
        for method in study["methods"]
        for sigma in map(format_sigma, study["sigmas"])
        for seed in study["seeds"]
    ]


def evaluations(config: dict) -> list[Evaluation]:
    """The sweeps aggregate_mc collects (a non-ideality study's tables read their own base sweeps, ``Variant``)."""
    return list(dict.fromkeys(main_evaluations(config) + device_study_evaluations(config)))


def runs(config: dict) -> list[Run]:
    return list(dict.fromkeys([e.run for e in evaluations(config)] + convergence_runs(config)))


def datasets(config: dict) -> list[str]:
    return sorted({p["dataset"] for p in config["experiments"]["pairs"]})


def pairs(config: dict) -> list[tuple[str, str]]:
    return [(p["model"], p["dataset"]) for p in config["experiments"]["pairs"]]


# -- what each table built from the grid must hold: its readers get these as params and check every row against them
def sweep_keys(config: dict) -> list[list]:
    """Every sweep aggregate_mc collects, as its experiment keys (``contracts.MC_KEYS``: model, dataset, method,
    device, sigma_train, seed, sigma_test): mc_chips.csv and mc_summary.csv hold exactly these."""
    return [
        [e.run.model, e.run.dataset, e.run.method, e.device, e.run.sigma, e.run.seed, e.sigma_test]
        for e in evaluations(config)
    ]


def _sweep_seeds(config: dict) -> dict[tuple, set]:
    """(model, dataset, device, method, sigma_train, sigma_test) -> the training seeds swept there."""
    out: dict[tuple, set] = {}
    for e in evaluations(config):
        key = (e.run.model, e.run.dataset, e.device, e.run.method, e.run.sigma, e.sigma_test)
        out.setdefault(key, set()).add(e.run.seed)
    return out


def _pair_devices(config: dict) -> list[tuple[str, str, str]]:
    """(model, dataset, device) of every swept card, in grid order."""
    return list(dict.fromkeys((e.run.model, e.run.dataset, e.device) for e in evaluations(config)))


def curve_points(config: dict) -> list[list]:
    """Every point accuracy_curves.csv holds (``neft.analysis.results.accuracy_curves``): per swept (pair, device),
    main method and grid sigma whose sweep the grid has, ``[model, dataset, device, method, sigma, source_method,
    sigma_train, seeds]`` (:func:`point_source`; seeds: how many training seeds were swept there)."""
    seeds = _sweep_seeds(config)
    out = []
    for model, dataset, device in _pair_devices(config):
        for method in config["experiments"]["methods"]:
            for s in grid_sigmas(config):
                source, train = point_source(config["methods"], method, s)
                swept = seeds.get((model, dataset, device, source, train, s))
                if swept:
                    out.append([model, dataset, device, method, s, source, train, len(swept)])
    return out


def comparison_points(config: dict) -> list[list]:
    """Every (model, dataset, device, instance, sigma) of the ablation's table (``neft.analysis.ablation``): an
    instance at an ablation sigma where the grid sweeps it and its baseline and controls there (each comparison of
    ``COMPARISONS`` is one row of it)."""
    ab = config["ablation"]
    if not ab["enabled"]:
        return []
    seeds = _sweep_seeds(config)
    out = []
    for model, dataset, device in _pair_devices(config):
        for inst, controls in ab["instances"].items():
            names = [inst, ab["baseline"], *controls.values()]
            for s in map(format_sigma, ab["sigmas"]):
                if all((model, dataset, device, m, s, s) in seeds for m in names):
                    out.append([model, dataset, device, inst, s])
    return out


def convergence_points(config: dict) -> list[list]:
    """Every row of convergence.csv: ``[model, dataset, method, device, sigma, runs]`` (runs: the study's seeds)."""
    counts: dict[tuple, int] = {}
    for r in convergence_runs(config):
        key = (r.model, r.dataset, r.method, r.device, r.sigma)
        counts[key] = counts.get(key, 0) + 1
    return [[*key, n] for key, n in counts.items()]


def study_points(config: dict, key: str) -> list[list]:
    """Every row of a non-ideality (``key`` = "nonidealities") or drift ("drift_study") study's table:
    ``[model, dataset, study, level, method]``, today's card (level ``off``) included for each study axis."""
    variants = nonideal_variants(config) if key == "nonidealities" else drift_variants(config)
    methods = set(config[key]["methods"]) if variants else set()
    out = []
    for v in variants:
        run = v.evaluation.run
        if run.method in methods:  # the sweep of a study method (a method standing in for another has no row)
            out += [(run.model, run.dataset, v.study, level, run.method) for level in (OFF, v.level)]
    return [list(p) for p in dict.fromkeys(out)]
