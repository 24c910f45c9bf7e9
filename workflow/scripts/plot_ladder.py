"""Rule plot_ladder -> neft.report.plotting.plot_ladder."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

import pandas as pd  # noqa: E402

from neft.jobs.runs import job_log  # noqa: E402
from neft.report.plotting import plot_ladder  # noqa: E402
from neft.util.checks import read_text  # noqa: E402

TEXT = {"width": str, "paper_sigma": str, "sigma": str}


def main(smk) -> None:
    log = job_log(smk.log[0])
    tables = {}
    for name in ("accuracy", "decomposition"):
        read_text(smk.input[name], f"ladder table ({name})")  # names the file if it is missing or unreadable
        tables[name] = pd.read_csv(smk.input[name], dtype=TEXT)
    plot_ladder(tables["accuracy"], tables["decomposition"], smk.params.labels, list(smk.output.figures))
    log(f"drew {len(tables['accuracy'])} (rung, method) points")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
