"""Rule summarize -> neft.analysis.conclusions (the run's conclusions, every number cited from a table)."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis import conclusions  # noqa: E402
from neft.analysis.ladder import read_record  # noqa: E402
from neft.experiment.tablecheck import check_digests  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    p = smk.params
    record = None
    if p.recorded:  # the ladder's paragraph from a recorded run: its files checked against their digests first
        record = read_record(p.recorded, shown=p.recorded_as)
    paths = {name: smk.input[name] for name in conclusions.TABLES if name in smk.input.keys()}
    check_digests(path for name, path in paths.items() if f"{name}_sha256" in smk.input.keys())  # this run's
    tables = conclusions.read_tables(paths)
    # the training length the text opens with: a config value, not a table's (any change to it retrains, so this
    # rule reruns with it)
    epochs = smk.config["training"]["epochs"]
    summary = conclusions.build(tables, p.methods, p.scale, p.sigma_scale, record, epochs)
    conclusions.write(summary, smk.output.md, smk.output.rst, smk.output.sources)
    log(
        f"{len(summary.verdicts)} claims, {len(summary.brief)} short paragraphs, {len(summary.evidence)} evidence "
        f"sections, {len(summary.sources)} cited numbers from {', '.join(tables)}"
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
