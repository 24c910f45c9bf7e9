# Helpers shared by all rules: config validation, the experiment grid, wildcard constraints, config slices.
import json
import re

import neft.analysis.citing
import neft.experiment.config
import neft.experiment.configfiles
import neft.experiment.grid
import neft.experiment.rungs
import neft.util.sigma
from neft.core.data.loader import DataSpec
from neft.core.mc import McSettings
from neft.core.methods import MethodSpec
from neft.core.models import ModelSpec
from neft.experiment.config import ConfigError, validate_config
from neft.util.perf import ComputeSpec

try:
    # the config files again, with the checks Snakemake's reader does not make (neft.experiment.configfiles says which);
    # overwrite_configfiles: the --configfile paths, a public property of Snakemake's workflow object
    for _path in [Path(workflow.basedir) / "config/config.yaml", *workflow.overwrite_configfiles]:
        if isinstance(_path, (str, Path)):
            neft.experiment.configfiles.load(_path)
    validate_config(config, workflow.source_path("../schemas/config.schema.yaml"), workflow.basedir)
except (ConfigError, neft.experiment.configfiles.ConfigFileError) as err:
    raise WorkflowError(str(err)) from None

MAIN_DEVICE = config["experiments"]["devices"][0]
GRID_RUNS = neft.experiment.grid.runs(config)
GRID_EVALS = neft.experiment.grid.evaluations(config)
RUN_PATH = neft.experiment.grid.Run(
    "{model}", "{dataset}", "{method}", "{device}", "{sigma}", "{seed}"
).path
#: the paper's plotted numbers (resources/reference/README.md says where each comes from)
REFERENCE = {
    "accuracy": Path(workflow.basedir) / "resources/reference/paper_accuracy.csv",
    "ekl": Path(workflow.basedir) / "resources/reference/paper_ekl.csv",
}
#: the accuracy figure's overlay of the paper's points (figures.paper_points)
PAPER_POINTS = REFERENCE["accuracy"] if config["figures"]["paper_points"] else []


# Names are checked against neft.experiment.config.NAME at parse time; methods are the exact (escaped) list, since derived
# beta-sweep names carry a '.'.
wildcard_constraints:
    model="|".join(sorted({p["model"] for p in config["experiments"]["pairs"]})),
    dataset=neft.experiment.config.NAME.pattern,
    method="|".join(re.escape(m) for m in sorted(config["methods"], key=len, reverse=True)),
    device=neft.experiment.config.NAME.pattern,
    sigma=r"[0-9.]+",
    test=r"[0-9.]+",
    seed=r"\d+",
    width=r"[0-9.]+",  # the scale ladder's rung (workflow/rules/scale.smk)
    epochs=r"\d+",
    psigma=r"[0-9.]+",


def gpu_request():
    """1 when jobs will run on CUDA, else 0: the default profile caps concurrent GPU jobs with it."""
    device = config["compute"]["device"]
    if device == "cpu":
        return 0
    if device.startswith("cuda"):
        return 1
    import torch

    return int(torch.cuda.is_available())


def data_slice(wildcards):
    """The data settings a job depends on (and nothing else, so unrelated edits do not rerun it)."""
    return DataSpec.from_params(config["data"]).params()


def registry_slice(wildcards):
    """Config overrides of the dataset registry entry of this job's dataset only."""
    entry = config["datasets"].get(wildcards.dataset)
    return {wildcards.dataset: entry} if entry else {}


def model_slice(wildcards):
    return ModelSpec.from_params(wildcards.model, config["models"][wildcards.model]).params()


def method_slice(wildcards):
    return MethodSpec.from_params(config["methods"][wildcards.method]).params()


def mc_slice(wildcards):
    """MC settings that change the chips' numbers; options at their defaults are left out, so enabling nothing
    new never reruns finished sweeps (``McSettings.params``)."""
    return McSettings.from_config(config["mc"]).params()


def compute_slice(wildcards):
    """Device and threads; deterministic only when on (so finished jobs stay fresh when it is off)."""
    return ComputeSpec.from_params(config["compute"]).params()


def trained_model(wildcards):
    """The checkpoint a sweep evaluates: W/O Noise is trained once and evaluated on every device card."""
    w = wildcards
    device = neft.experiment.grid.training_device(config, w.method, w.device)
    run = neft.experiment.grid.Run(w.model, w.dataset, w.method, device, w.sigma, w.seed)
    return f"results/models/{run.path}/model.pt"


def all_mc_stats():
    return expand("results/mc/{path}.json", path=[e.path for e in GRID_EVALS])


def all_mc_csvs():
    return expand("results/mc/{path}.csv", path=[e.path for e in GRID_EVALS])


FITTED_DEVICES = sorted(config["fitted_devices"])


def fitted_device_data(wildcards):
    """The measured-data CSV of a fitted card (config paths are relative to the repository)."""
    return Path(workflow.basedir) / config["fitted_devices"][wildcards.device]["data"]


def train_log(run):
    return f"results/models/{run.path}/train_log.csv"


def convergence_runs():
    return neft.experiment.grid.convergence_runs(config)


def convergence_references():
    """Per (model, dataset): the training log of the noise-free reference model (seed = first seed)."""
    ref = config["convergence"]["reference"]
    seed = config["experiments"]["seeds"][0]
    return {
        (m, d): train_log(neft.experiment.grid.Run(m, d, ref, MAIN_DEVICE, "0", seed))
        for m, d in neft.experiment.grid.pairs(config)
    }


def labels():
    return {m: spec.get("label", m) for m, spec in config["methods"].items()}


def figures(name):
    return expand(f"results/figures/{name}.{{ext}}", ext=config["figures"]["formats"])


def tables(name, exts=(".csv", ".md", ".tex")):
    return [f"results/tables/{name}{ext}" for ext in exts]


def final_targets():
    """Every figure and table this config builds, by target rule name (disabled studies build nothing)."""
    panels = [
        f
        for model, dataset in neft.experiment.grid.pairs(config)
        for f in expand(
            f"results/figures/accuracy_panels/{model}/{dataset}.{{ext}}",
            ext=config["figures"]["formats"],
        )
    ]
    targets = {
        "figure_accuracy": figures("accuracy"),
        "figure_accuracy_panels": panels,
        "table_accuracy": tables("accuracy"),
        "figure_uncertainty": figures("uncertainty"),
        "table_uncertainty": tables("uncertainty"),
        "figure_confidence": figures("confidence"),
        "table_confidence": tables("confidence"),
        "figure_variance": figures("variance"),
        "table_variance": tables("variance"),
        "table_headline": ["results/tables/headline.csv"],
        "scorecard": tables("scorecard", (".md",)) + figures("scorecard"),
        "summary": ["results/tables/summary.md"],
        "figure_ablation": [],
        "table_ablation": [],
        "table_crosscheck": [],
        "figure_convergence": [],
        "table_convergence": [],
        "figure_devices": [],
        "table_devices": [],
        "figure_device_fits": [],
        "figure_worst_chips": figures("worst_chips"),
        "table_worst_chips": tables("worst_chips", (".csv", ".md")),
        "figure_nonidealities": [],
        "table_nonidealities": [],
        "figure_drift": [],
        "table_drift": [],
    }
    if config["nonidealities"]["enabled"]:
        targets["figure_nonidealities"] = figures("nonidealities")
        targets["table_nonidealities"] = tables("nonidealities")
    if config["drift_study"]["enabled"]:
        targets["figure_drift"] = figures("drift")
        targets["table_drift"] = tables("drift")
    targets["table_worst_case_probe"] = []
    if config["worst_case_probe"]["enabled"]:
        targets["table_worst_case_probe"] = tables("worst_case_probe", (".csv", ".md"))
    if config["ablation"]["enabled"]:
        targets["figure_ablation"] = figures("ablation")
        targets["table_ablation"] = tables("ablation") + ["results/tables/ablation_beta_sweep.csv"]
    cross = config["crosscheck"]
    if cross["enabled"] and {cross["ours"], cross["theirs"]} <= set(
        neft.experiment.grid.all_methods(config)
    ):
        targets["table_crosscheck"] = tables("crosscheck", (".csv", ".md"))
    if config["convergence"]["enabled"]:
        targets["figure_convergence"] = figures("convergence")
        targets["table_convergence"] = tables("convergence", (".csv", ".md"))
    if config["device_study"]["enabled"]:
        targets["figure_devices"] = figures("devices")
        targets["table_devices"] = tables("devices")
    if config["fitted_devices"]:
        targets["figure_device_fits"] = figures("device_fit") + [
            f"results/devices/{name}/card.yaml" for name in config["fitted_devices"]
        ]
    targets["scale_study"] = (
        ladder_targets()
    )  # workflow/rules/scale.smk; empty unless scale_study.enabled
    return targets


# the non-idealities and drift studies (workflow/rules/nonideal.smk)
NONIDEAL_SWEEPS = neft.experiment.grid.nonideal_variants(config)
DRIFT_SWEEPS = neft.experiment.grid.drift_variants(config)


def nonideal_card(wildcards):
    """The card a study sweep evaluates under: a drift time's fitted card, else the run's own device card."""
    name = wildcards.level if wildcards.study == neft.experiment.grid.DRIFT else wildcards.device
    return f"results/devices/{name}/card.yaml"


def drift_reference(wildcards):
    """The first drift card (time 0 of the relative rule): what the other times' spreads are relative to."""
    if wildcards.study != neft.experiment.grid.DRIFT:
        return []
    return f"results/devices/{config['drift_study']['cards'][0]}/card.yaml"


def study_files(variants, ext):
    return [f"results/nonideal/{v.path}.{ext}" for v in variants]


PROBES = neft.experiment.grid.probe_evaluations(config)


def study_base_files(variants, ext):
    """The main sweeps a study re-evaluates (its level 'off'): only these, so a study needs no other training."""
    return [
        f"results/mc/{path}.{ext}" for path in dict.fromkeys(v.evaluation.path for v in variants)
    ]


def summary_tables():
    """What the conclusions (summarize in report.smk) are written from: neft.analysis.citing.TABLES, the studies that run;
    the ladder's tables from a recorded ladder (scale_study.recorded) when this run does not train one.
    """
    built = {f for files in final_targets().values() for f in files}
    tables = {
        name: path
        for name, path in (
            (n, f"results/tables/{f}") for n, f in neft.analysis.citing.TABLES.items()
        )
        if path in built or name in ("claims", "points")
    }
    if recorded_ladder():
        tables |= {
            n: f"{recorded_ladder()}/{neft.analysis.citing.TABLES[n]}"
            for n in neft.analysis.citing.LADDER_TABLES
        }
    return tables


def recorded_ladder():
    """The recorded ladder the conclusions cite (a folder in the repository), or '' when the run trains its own."""
    study = config["scale_study"]
    if study["enabled"] or not study["recorded"]:
        return ""
    return str(Path(workflow.basedir) / study["recorded"])


def report_inputs():
    return [f for files in final_targets().values() for f in files]


# Warm job start (compute.warm_start, local runs only): one interpreter imports torch once and every job forks
# from it, instead of paying ~2 s of imports per job. Jobs find it through the environment; see neft.workflow.warmstart.
WARM_SERVERS = []


onstart:
    # a corrupt intermediate file stops the run here, before Snakemake removes any finished output (neft.workflow.preflight)
    from neft.workflow import preflight

    if unreadable := preflight.problems():
        raise WorkflowError(preflight.message(unreadable))
    if config["compute"]["warm_start"] and workflow.local_exec:
        from neft.workflow.warmstart import WarmServer

        server = WarmServer()
        WARM_SERVERS.append(server)
        if not server.ready:
            logger.warning("warm start unavailable (logs/warm_start.log); jobs start cold")


onsuccess:
    for server in WARM_SERVERS:
        server.stop()


onerror:
    for server in WARM_SERVERS:
        server.stop()


# the scale ladder (workflow/rules/scale.smk)
LADDER = config["scale_study"]
LADDER_PAIR = config["experiments"]["pairs"][0]
LADDER_RUN = "width~{width}/epochs~{epochs}/{model}/{dataset}/{method}/{device}/paper_sigma~{psigma}/seed~{seed}"
LADDER_FACTOR = "results/scale/width~{width}/sigma_factor.json"


def ladder_reference_run(width):
    """The reference model (W/O Noise, first seed) whose sweep fixes a width's sigma factor."""
    rung = neft.experiment.rungs.width_reference(LADDER, float(width))
    ref = LADDER["sigma_rule"]["reference_method"]
    return LADDER_RUN.format(
        width=rung.width_text,
        epochs=rung.epochs,
        model=LADDER_PAIR["model"],
        dataset=LADDER_PAIR["dataset"],
        method=ref,
        device=MAIN_DEVICE,
        psigma="0",
        seed=LADDER["seeds"][0],
    )


def ladder_factor(wildcards):
    """A noise-aware training (and every sweep) needs its width's factor; W/O Noise at sigma 0 does not."""
    return [] if wildcards.psigma == "0" else LADDER_FACTOR.format(width=wildcards.width)


def ladder_model_path(w):
    """The checkpoint a ladder sweep ``w`` (a dict of its wildcards) tests: W/O Noise is its sigma-0 model
    (neft.experiment.grid.point_source)."""
    source, train = neft.experiment.grid.point_source(config["methods"], w["method"], w["psigma"])
    return (
        f"results/scale/{LADDER_RUN.format(**(w | {'method': source, 'psigma': train}))}/model.pt"
    )


def ladder_model(wildcards):
    return ladder_model_path(dict(wildcards.items()))


def ladder_sweeps():
    """Every (rung, method, paper sigma, seed) sweep of the ladder, as a dict of its wildcards."""
    return [
        {
            "width": rung.width_text,
            "epochs": rung.epochs,
            "model": LADDER_PAIR["model"],
            "dataset": LADDER_PAIR["dataset"],
            "method": method,
            "device": MAIN_DEVICE,
            "psigma": neft.util.sigma.format_sigma(ps),
            "seed": seed,
        }
        for rung in neft.experiment.rungs.rungs(LADDER)
        for method in LADDER["methods"]
        for ps in LADDER["paper_sigmas"]
        for seed in LADDER["seeds"]
    ]


def ladder_files(ext):
    return [f"results/scale/mc/{LADDER_RUN.format(**w)}.{ext}" for w in ladder_sweeps()]


def ladder_model_slice(wildcards):
    return config["models"][wildcards.model] | {"width": float(wildcards.width)}


def ladder_training_slice(wildcards):
    return config["training"] | {"epochs": int(wildcards.epochs)}


def ladder_runs():
    """Every ladder training with its rung, method, paper and training sigma, seed, and whether it is the rung's
    W/O Noise reference of the convergence criterion (the first seed's)."""
    out = []
    for w in ladder_sweeps():
        source, train = neft.experiment.grid.point_source(
            config["methods"], w["method"], w["psigma"]
        )
        rung = neft.experiment.rungs.Rung(float(w["width"]), int(w["epochs"]))
        out.append(
            {
                "width": w["width"],
                "epochs": int(w["epochs"]),
                "model": w["model"],
                "dataset": w["dataset"],
                "method": source,
                "paper_sigma": train,
                "seed": int(w["seed"]),
                "reference": source == LADDER["sigma_rule"]["reference_method"],
            }
        )
    return list(
        {
            (r["width"], r["epochs"], r["method"], r["paper_sigma"], r["seed"]): r for r in out
        }.values()
    )


def ladder_log(run):
    w = run | {"psigma": run["paper_sigma"], "device": MAIN_DEVICE}
    return f"results/scale/{LADDER_RUN.format(**w)}/train_log.csv"


LADDER_WIDTHS = list(dict.fromkeys(r.width_text for r in neft.experiment.rungs.rungs(LADDER)))
LADDER_TABLES = {
    "accuracy": "results/tables/ladder.csv",
    "decomposition": "results/tables/ladder_decomposition.csv",
    "claims": "results/tables/ladder_claims.csv",
    "runs": "results/tables/ladder_runs.csv",
    "md": "results/tables/ladder.md",
}


def ladder_targets():
    """What target scale_study builds (nothing while scale_study.enabled is off)."""
    if not LADDER["enabled"]:
        return []
    return list(LADDER_TABLES.values()) + figures("ladder")
