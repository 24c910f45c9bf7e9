"""Rule tabulate_probe -> neft.experiment.study_handoff.read_probes, neft.analysis.tables.write_probe_table."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.tables import write_probe_table  # noqa: E402
from neft.experiment.study_handoff import read_probes  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    p = smk.params
    sampled = list(zip(smk.input.sampled, smk.input.sampled_stats, strict=True))  # each probe's main sweep
    table = read_probes(list(smk.input.probes), p.settings, p.expect, sampled)
    write_probe_table(table, smk.params.labels, smk.output.csv, smk.output.md)
    log(f"{len(table)} probes; found below the sampled 1st percentile: {int((table.below_p1 > 0).sum())}")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
