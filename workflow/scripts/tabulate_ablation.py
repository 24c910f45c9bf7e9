"""Rule tabulate_ablation -> neft.tables.write_ablation_tables."""

from neft.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.warmstart)

from neft.handoff import read_ablation  # noqa: E402
from neft.runs import job_log  # noqa: E402
from neft.tables import write_ablation_markdown  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    decomp, sweep = read_ablation(smk.input.decomposition, smk.input.sweep)
    write_ablation_markdown(decomp, sweep, smk.output.md, smk.output.tex)
    log(f"{len(decomp)} comparisons, {len(sweep)} sweep rows")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
