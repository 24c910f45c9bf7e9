"""Rule tabulate_ladder -> neft.analysis.ladder (accuracy, decomposition and claims per rung of the scale ladder)."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

import pandas as pd  # noqa: E402

from neft.analysis import ladder  # noqa: E402
from neft.analysis.results import write_csv  # noqa: E402
from neft.experiment import rungs  # noqa: E402
from neft.experiment.study_handoff import read_train_log  # noqa: E402
from neft.experiment.tablecheck import record_digests  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402
from neft.util.io import atomic_write_text  # noqa: E402


def main(smk) -> None:
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


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
