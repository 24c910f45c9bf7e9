"""Rules tabulate_nonidealities, tabulate_drift -> neft.analysis.nonideal_study.read_sweeps, study_table."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

import pandas as pd  # noqa: E402

from neft.analysis.nonideal_study import read_sweeps, study_table, write_study_table  # noqa: E402
from neft.analysis.results import write_csv  # noqa: E402
from neft.experiment.handoff import read_mc_sweeps  # noqa: E402
from neft.experiment.tablecheck import record_digests  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    p = smk.params
    chips = read_sweeps(list(smk.input.chips), list(smk.input.stats), p.expect)
    write_csv(chips, smk.output.chips)
    frames, _, notes = read_mc_sweeps(list(smk.input.main), list(smk.input.main_stats), p.expect)
    for note in notes:
        log(note)
    main = pd.concat(frames, ignore_index=True)
    times = dict(zip(p.study.get("cards", []), p.study.get("times_s", [])))
    table = study_table(chips, main, p.study["baseline"], list(p.study["methods"]), p.ci, times)
    write_study_table(table, p.labels, smk.output.csv, smk.output.md, smk.output.tex, p.title, p.ci)
    record_digests(smk.output)  # <study>.csv.sha256, for plot_study
    kept = table[table.advantage == "holds"]
    log(f"{len(chips)} chip rows, {len(table)} table rows; above the baseline at {len(kept)} of them")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
