"""Rule plot_ablation -> neft.report.plotting.plot_ablation."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.experiment.study_handoff import read_ablation  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402
from neft.report.plotting import SCALE_NOTES, plot_ablation  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    decomp, sweep = read_ablation(smk.input.decomposition, smk.input.sweep, smk.params.points)
    plot_ablation(decomp, sweep, list(smk.output.figures), note=SCALE_NOTES.get(smk.params.scale))
    log(f"drew {len(decomp)} comparisons and {len(sweep)} sweep points")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
