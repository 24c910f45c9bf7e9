"""Rule probe_worst_case -> neft.jobs.runs.probe_job."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.experiment.tablecheck import record_digests  # noqa: E402
from neft.jobs.runs import eval_rule, job_log, probe_job, run_keys  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    wc, p = smk.wildcards, smk.params
    job, paths = eval_rule(smk, wc.test, run_keys(wc))
    probe_job(job, paths, p.probe, log)
    record_digests(smk.output)  # test~<t>.json.sha256: tabulate_probe checks the JSON against it


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
