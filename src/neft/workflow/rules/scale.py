"""The jobs of workflow/rules/scale.smk: one function per rule, given its snakemake object (drawing: plots)."""

from __future__ import annotations

import pandas as pd

from neft.analysis import ladder
from neft.analysis.results import write_csv
from neft.analysis.scorecard import load_reference
from neft.experiment import rungs
from neft.experiment.grid import point_source
from neft.experiment.job_specs import EvalJob, EvalPaths
from neft.experiment.rungs import read_factor, rung_sigma
from neft.experiment.study_handoff import read_train_log
from neft.experiment.tablecheck import record_digests
from neft.jobs.runs import calibration_job, job_log, mc_rule, run_keys, train_rule
from neft.util.io import atomic_write_text
from neft.util.sigma import format_sigma


def calibrate_rung_sigma(smk) -> None:
    """Rule calibrate_rung_sigma -> neft.jobs.runs.calibration_job (the ladder's sigma rule,
    neft.experiment.rungs.crossing_factor)."""
    log = job_log(smk.log[0])
    p = smk.params
    pair, rule = p.pair, p.rule
    ref = load_reference(smk.input.reference)
    at = ref[
        (ref.model == pair["model"])
        & (ref.dataset == pair["dataset"])
        & (ref.method == p.reference_kind)
        & (ref.sigma == format_sigma(rule["reference_sigma"]))
    ]
    if at.empty:
        raise ValueError(
            f"{smk.input.reference}: no paper value for {p.reference_kind} on {pair['model']}/{pair['dataset']} at "
            f"sigma {rule['reference_sigma']} (scale_study.sigma_rule.reference_sigma)"
        )
    job = EvalJob(
        model=pair["model"],
        width=p.model["width"],
        dataset=pair["dataset"],
        sigma_test=rule["reference_sigma"],
        mc=p.mc,
        registry=p.registry,
        data=p.data,
        compute=p.compute,
    )
    i, o = smk.input, smk.output
    paths = EvalPaths(i.data, i.model, i.card, out=o.factor, sweep=o.sweep)
    calibration_job(job, paths, rule, float(at["value"].iloc[0]), log)


def evaluate_rung(smk) -> None:
    """Rule evaluate_rung -> neft.jobs.runs.mc_job at a ladder rung's sigma; the rows carry the rung (width, epochs)."""
    log = job_log(smk.log[0])
    wc = smk.wildcards
    sigma = rung_sigma(read_factor(smk.input.factor), wc.psigma)
    _, train = point_source(smk.params.methods, wc.method, wc.psigma)
    keys = {"width": wc.width, "epochs": int(wc.epochs), "paper_sigma": wc.psigma}  # the rung, then the run
    keys |= run_keys(wc, sigma_train="0" if train == "0" else sigma)
    mc_rule(smk, sigma, keys, log)


def tabulate_ladder(smk) -> None:
    """Rule tabulate_ladder -> neft.analysis.ladder (accuracy, decomposition and claims per rung of the scale
    ladder)."""
    log = job_log(smk.log[0])
    p = smk.params
    study = p.study
    sweeps = [
        ladder.read_sweep(c, j, keys, p.expect)
        for c, j, keys in zip(smk.input.chips, smk.input.stats, p.sweeps, strict=True)
    ]
    chips = pd.concat([c for c, _ in sweeps], ignore_index=True)
    summary = pd.DataFrame([s for _, s in sweeps]).astype(ladder.TEXT_COLUMNS)
    factors = {w: rungs.read_factor(f) for w, f in zip(p.widths, smk.input.factors, strict=True)}
    last = []
    for run, path in zip(p.runs, smk.input.logs, strict=True):
        last.append(read_train_log(path, int(run["epochs"])).iloc[-1].to_dict())
    convergence = ladder.convergence_rows(p.runs, last, p.fraction, factors)
    acc = ladder.accuracy_table(chips, summary, convergence, factors, study, p.labels)
    decomp = ladder.decomposition_table(chips, factors, study, p.ablation)
    verdicts = ladder.claims_table(chips, summary, convergence, factors, study, p.methods, p.kinds)
    write_csv(acc, smk.output.accuracy, float_format="%.4f")
    write_csv(decomp, smk.output.decomposition, float_format="%.4f")
    write_csv(verdicts, smk.output.claims)
    write_csv(convergence, smk.output.runs, float_format="%.4f")
    atomic_write_text(smk.output.md, ladder.markdown(acc, decomp, verdicts, p.labels))
    record_digests(smk.output)  # ladder.csv, ladder_decomposition.csv, ladder_claims.csv: for plot_ladder, summarize
    log(f"{len(acc)} (rung, method) rows, {len(decomp)} comparisons, {len(verdicts)} verdicts")


def train_rung(smk) -> None:
    """Rule train_rung -> neft.jobs.runs.train_job at a ladder rung's width, epochs and sigma (neft.analysis.ladder)."""
    log = job_log(smk.log[0])
    wc = smk.wildcards
    sigma = "0" if wc.psigma == "0" else rung_sigma(read_factor(smk.input.factor), wc.psigma)
    train_rule(smk, sigma, log)
