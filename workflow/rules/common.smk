# Helpers shared by all rules: config validation, the experiment grid, wildcard constraints, config slices.
import neft.grid
from neft.config import ConfigError, validate_config

try:
    validate_config(config, workflow.source_path("../schemas/config.schema.yaml"))
except ConfigError as err:
    raise WorkflowError(str(err)) from None

GRID_RUNS = neft.grid.runs(config)
GRID_EVALS = neft.grid.evaluations(config)
RUN_PATH = "{model}/{dataset}/{method}/{device}/sigma~{sigma}/seed~{seed}"


wildcard_constraints:
    model="|".join(sorted({p["model"] for p in config["experiments"]["pairs"]})),
    dataset=r"[A-Za-z0-9_\-]+",
    method="|".join(sorted(config["methods"], key=len, reverse=True)),
    device=r"[A-Za-z0-9_\-]+",
    sigma=r"[0-9.]+",
    test=r"[0-9.]+",
    seed=r"\d+",


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
    return {
        k: config["data"][k]
        for k in ("split_seed", "val_size", "train_subset", "val_subset", "test_subset")
    }


def registry_slice(wildcards):
    """Config overrides of the dataset registry entry of this job's dataset only."""
    entry = config["datasets"].get(wildcards.dataset)
    return {wildcards.dataset: entry} if entry else {}


def model_slice(wildcards):
    return config["models"][wildcards.model]


def method_slice(wildcards):
    m = config["methods"][wildcards.method]
    return {"kind": m["kind"], "params": m.get("params") or {}}


def compute_slice(wildcards):
    return {k: config["compute"][k] for k in ("device", "threads")}


def all_mc_stats():
    return expand("results/mc/{path}.json", path=[e.path for e in GRID_EVALS])


def all_mc_csvs():
    return expand("results/mc/{path}.csv", path=[e.path for e in GRID_EVALS])
