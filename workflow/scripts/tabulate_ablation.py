"""Rule tabulate_ablation -> neft.analysis.tables.write_ablation_tables."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.tables import write_ablation_markdown  # noqa: E402
from neft.experiment.study_handoff import read_ablation  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    decomp, sweep = read_ablation(smk.input.decomposition, smk.input.sweep, smk.params.points)
    write_ablation_markdown(decomp, sweep, smk.output.md, smk.output.tex)
    log(f"{len(decomp)} comparisons, {len(sweep)} sweep rows")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
