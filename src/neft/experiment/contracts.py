"""What every file one workflow rule hands another holds: the columns of each table and sweep, the experiment key
columns, the rounding their writers apply, and the remedy a reader names when a file breaks its promise. The
readers that check them are ``neft.experiment.handoff`` (tables and sweeps) and ``neft.experiment.inputs``."""

from __future__ import annotations

#: the columns that name an experiment's point in every MC file (a chip row's key, a sweep's JSON)
KEYS = ["model", "dataset", "method", "device", "sigma_train", "seed", "sigma_test"]
KEY_DTYPES = {
    "model": str,
    "dataset": str,
    "method": str,
    "device": str,
    "sigma_train": str,
    "sigma_test": str,
    "sigma": str,
    "label": str,
    "source_method": str,
}

#: The columns of an MC CSV after its experiment keys (``neft.jobs.runs.write_chip_csv`` writes them in this order).
MC_KEYS = tuple(KEYS)
MC_COLUMNS = ("chip", "correct", "n", "accuracy", "confidence", "confidence_correct")
#: What an MC JSON must hold besides the keys (``csv_sha256``, ``mc_seed``: since issue 12; older ones lack them).
MC_JSON_FIELDS = ("chips", "ekl", "mutual_info", "n_test")
MC_SUMMARY_COLUMNS = (
    *MC_KEYS,
    "chips",
    "mean",
    "std",
    "p1",
    "p5",
    "confidence",
    "confidence_correct",
    "ekl",
    "mutual_info",
    "n_test",
)
CURVE_KEYS = ("model", "dataset", "device", "method", "label", "sigma", "source_method", "sigma_train", "seeds")
CURVE_COLUMNS = (
    *CURVE_KEYS,
    "chips",
    "mean",
    "std",
    "ci_low",
    "ci_high",
    "p1",
    "p5",
    "confidence",
    "confidence_correct",
    "ekl",
    "mutual_info",
)
DECOMPOSITION_COLUMNS = (
    "model",
    "dataset",
    "device",
    "instance",
    "sigma",
    "comparison",
    "method_a",
    "method_b",
    "chips",
    "mean_a",
    "mean_b",
    "diff",
    "ci_low",
    "ci_high",
    "share_of_gain",
)
SWEEP_COLUMNS = (
    "model",
    "dataset",
    "device",
    "instance",
    "sigma",
    "beta",
    "method",
    "chips",
    "mean",
    "ci_low",
    "ci_high",
)
SWEEP_DIFF_COLUMNS = ("diff_vs_beta0", "diff_ci_low", "diff_ci_high")
CONVERGENCE_COLUMNS = (
    "model",
    "dataset",
    "method",
    "device",
    "sigma",
    "runs",
    "converged",
    "mean_noisy_acc",
    "probability",
)
TRAIN_LOG_COLUMNS = ("epoch", "lr", "loss", "split", "clean_acc", "noisy_acc", "seconds", "selected")

REBUILD = "delete it so the workflow rebuilds it"
RERUN_MC = "delete the CSV and its JSON so the workflow reruns that MC job"
#: Accuracy in the CSV is 100 * correct / n written with 4 decimals.
ACCURACY_ROUNDING = 5e-5 + 1e-9
#: A float written with %.6f (the tables) is within this of the value it was computed from.
TABLE_ROUNDING = 5e-6 + 1e-9


#: the columns of a worst-case probe's JSON rows (``workflow/scripts/probe_worst_case.py`` writes them)
PROBE_COLUMNS = (
    "model",
    "dataset",
    "device",
    "method",
    "sigma_train",
    "sigma_test",
    "seed",
    "sampled_chips",
    "sampled_mean",
    "sampled_p1",
    "sampled_worst",
    "start_chip",
    "found_accuracy",
    "below_p1",
    "found_step",
    "found_norm",
    "found_norm_quantile",
    "radius_quantile",
    "dims",
    "steps",
)
