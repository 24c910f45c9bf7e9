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
#: the numbers of a probe JSON and what each must be: (lowest, highest, whole number); None: no bound
PROBE_NUMBERS = {
    "sampled_chips": (1, None, True),
    "sampled_mean": (0, 100, False),
    "sampled_p1": (0, 100, False),
    "sampled_worst": (0, 100, False),
    "start_chip": (0, None, True),
    "found_accuracy": (0, 100, False),
    "below_p1": (-100, 100, False),
    "found_step": (0, None, True),
    "found_norm": (0, None, False),
    "found_norm_quantile": (0, 1, False),
    "radius_quantile": (0, 1, False),
    "dims": (1, None, True),
    "steps": (1, None, True),
}
RERUN_PROBE = "delete it so the workflow reruns that probe (rule probe_worst_case)"

#: the columns of a non-ideality or drift study's table (``neft.analysis.nonideal_study.study_table``)
STUDY_COLUMNS = (
    "model",
    "dataset",
    "device",
    "study",
    "level",
    "time_s",
    "sigma",
    "method",
    "seeds",
    "chips",
    "mean",
    "ci_low",
    "ci_high",
    "p1",
    "baseline",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "advantage",
)
#: the ladder's accuracy table (``neft.analysis.ladder.accuracy_table``): the columns plot_ladder and summarize read
LADDER_COLUMNS = ("width", "epochs", "paper_sigma", "sigma", "method", "seeds", "mean", "ci95_low", "ci95_high", "p1")
#: the ladder's decomposition (``neft.analysis.ladder.decomposition_table``; empty when no instance is on the ladder)
LADDER_DECOMPOSITION_COLUMNS = (
    "width",
    "epochs",
    "paper_sigma",
    "instance",
    "sigma",
    "comparison",
    "chips",
    "diff",
    "ci_low",
    "ci_high",
)

# -- digests: what a hand-off file's writer records so its readers can tell an edited file from the one it wrote --
#: A hand-off file F is written with ``F.sha256`` beside it by the same job (one line in ``sha256sum`` format:
#: ``<sha256>  <name of F>``; ``sha256sum -c F.sha256`` in F's folder checks it by hand). Both are outputs of the
#: writing rule and inputs of every reading rule. The MC sweeps keep theirs in their JSON (``csv_sha256``).
DIGEST_SUFFIX = ".sha256"
#: which rule writes each digested file (by file name; the probe JSONs by their folder): the readers' messages name it
DIGEST_WRITERS = {
    "mc_chips.csv": "aggregate_mc",
    "mc_summary.csv": "aggregate_mc",
    "accuracy_curves.csv": "accuracy_data",
    "ablation.csv": "ablation_data",
    "ablation_beta_sweep.csv": "ablation_data",
    "convergence.csv": "tabulate_convergence",
    "nonidealities.csv": "tabulate_nonidealities",
    "drift.csv": "tabulate_drift",
    "ladder.csv": "tabulate_ladder",
    "ladder_decomposition.csv": "tabulate_ladder",
    "ladder_claims.csv": "tabulate_ladder",
    "accuracy.csv": "tabulate_accuracy",
    "uncertainty.csv": "tabulate_metric",
    "confidence.csv": "tabulate_metric",
    "variance.csv": "tabulate_metric",
    "devices.csv": "tabulate_devices",
    "scorecard_claims.csv": "scorecard",
    "scorecard_points.csv": "scorecard",
    "headline.csv": "scorecard",
    "results/probe": "probe_worst_case",
}
#: a value equal to 0 in the model (the expected KL and mutual information of identical chips), as the tables write it
ZERO_UNCERTAINTY = 1e-6
