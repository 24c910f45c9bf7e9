"""The jobs of workflow/rules/nonideal.smk: one function per rule, given its snakemake object (drawing: plots)."""

from __future__ import annotations

import pandas as pd

from neft.analysis.nonideal_study import drift_sigma, read_sweeps, study_table, write_study_table
from neft.analysis.results import write_csv
from neft.analysis.tables import write_probe_table
from neft.core.devices import DeviceCard
from neft.experiment.grid import DRIFT
from neft.experiment.handoff import read_mc_sweeps
from neft.experiment.study_handoff import read_probes
from neft.experiment.tablecheck import record_digests
from neft.jobs.runs import eval_rule, job_log, mc_rule, probe_job, run_keys


def evaluate_nonideal(smk) -> None:
    """Rule evaluate_nonideal -> neft.jobs.runs.mc_job with one non-ideality on, on the main sweep's chips."""
    log = job_log(smk.log[0])
    wc, p = smk.wildcards, smk.params
    if wc.study == DRIFT:
        card_name, changes = wc.level, None
        reference = DeviceCard.load(smk.input.reference)
        sigma = drift_sigma(wc.test, DeviceCard.load(smk.input.card), reference, p.sigma_rule)
    else:
        card_name, changes = wc.device, {wc.study: int(wc.level) if wc.study.endswith("_bits") else float(wc.level)}
        sigma = wc.test
    keys = run_keys(wc) | {"study": wc.study, "level": wc.level, "card": card_name, "sigma_point": wc.test}
    mc_rule(
        smk,
        sigma,
        keys,
        log,
        card_name=card_name,
        card_changes=changes,
        seed_device=wc.device,
        seed_sigma=wc.test,
    )


def probe_worst_case(smk) -> None:
    """Rule probe_worst_case -> neft.jobs.runs.probe_job."""
    log = job_log(smk.log[0])
    wc, p = smk.wildcards, smk.params
    job, paths = eval_rule(smk, wc.test, run_keys(wc))
    probe_job(job, paths, p.probe, log)
    record_digests(smk.output)


def tabulate_probe(smk) -> None:
    """Rule tabulate_probe -> neft.experiment.study_handoff.read_probes, neft.analysis.tables.write_probe_table."""
    log = job_log(smk.log[0])
    p = smk.params
    sampled = list(zip(smk.input.sampled, smk.input.sampled_stats, strict=True))  # each probe's main sweep
    table = read_probes(list(smk.input.probes), p.settings, p.expect, sampled)
    write_probe_table(table, smk.params.labels, smk.output.csv, smk.output.md)
    log(f"{len(table)} probes; found below the sampled 1st percentile: {int((table.below_p1 > 0).sum())}")


def tabulate_study(smk) -> None:
    """Rules tabulate_nonidealities, tabulate_drift -> neft.analysis.nonideal_study.read_sweeps, study_table."""
    log = job_log(smk.log[0])
    p = smk.params
    chips = read_sweeps(list(smk.input.chips), list(smk.input.stats), p.expect)
    write_csv(chips, smk.output.chips)
    frames, _, notes = read_mc_sweeps(list(smk.input.main), list(smk.input.main_stats), p.expect)
    for note in notes:
        log(note)
    main = pd.concat(frames, ignore_index=True)
    drift = "times_s" in p.study  # the drift study's cards are its times; the non-ideality study has none
    times = dict(zip(p.study["cards"], p.study["times_s"])) if drift else {}
    table = study_table(chips, main, p.study["baseline"], list(p.study["methods"]), p.ci, times)
    write_study_table(table, p.labels, smk.output.csv, smk.output.md, smk.output.tex, p.title, p.ci)
    record_digests(smk.output)  # <study>.csv.sha256, for plot_study
    kept = table[table.advantage == "holds"]
    log(f"{len(chips)} chip rows, {len(table)} table rows; above the baseline at {len(kept)} of them")
