"""The experiment grid: which models are trained and which Monte-Carlo sweeps run, derived from the config alone.

Both the Snakefile (to build the DAG) and the aggregation code (to label results) read the grid from here, so
the jobs and the tables cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from neft.sigma import format_sigma


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
        return f"{self.model}/{self.dataset}/{self.method}/{self.device}/sigma~{self.sigma}/seed~{self.seed}"


@dataclass(frozen=True, order=True)
class Evaluation:
    """One Monte-Carlo sweep: a trained run evaluated at ``sigma_test``."""

    run: Run
    sigma_test: str

    @property
    def path(self) -> str:
        return f"{self.run.path}/test~{self.sigma_test}"


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


def ablation_methods(config: dict) -> list[str]:
    """Method variants the ablation adds to the main ones (temperature and no-feedback controls, beta sweep)."""
    ab = config.get("ablation", {})
    if not ab.get("enabled"):
        return []
    names = [ab["baseline"]]
    for inst, controls in ab["instances"].items():
        names += [inst, controls["temperature"], controls["no_feedback"]]
    names += [sweep_name(m, b) for m, betas in ab.get("beta_sweep", {}).items() for b in betas]
    main = config["experiments"]["methods"]
    return [n for n in dict.fromkeys(names) if n not in main]


def sweep_name(method: str, beta: float) -> str:
    return f"{method}_beta{float(beta):g}"


def all_methods(config: dict) -> list[str]:
    return list(config["experiments"]["methods"]) + ablation_methods(config)


def test_sigmas(config: dict, method: str, sigma_train: str) -> list[str]:
    spec = config["methods"][method]["test_at"]
    if spec == "grid" or config["mc"].get("full_grid", False):
        return grid_sigmas(config)
    if spec == "train":
        return [sigma_train]
    return [format_sigma(s) for s in spec]


def runs(config: dict) -> list[Run]:
    exp = config["experiments"]
    out = []
    for pair in exp["pairs"]:
        for method in all_methods(config):
            for device in exp["devices"]:
                for sigma in train_sigmas(config, method):
                    for seed in exp["seeds"]:
                        out.append(Run(pair["model"], pair["dataset"], method, device, sigma, int(seed)))
    return out


def evaluations(config: dict) -> list[Evaluation]:
    return [Evaluation(r, t) for r in runs(config) for t in test_sigmas(config, r.method, r.sigma)]


def datasets(config: dict) -> list[str]:
    return sorted({p["dataset"] for p in config["experiments"]["pairs"]})


def pairs(config: dict) -> list[tuple[str, str]]:
    return [(p["model"], p["dataset"]) for p in config["experiments"]["pairs"]]
