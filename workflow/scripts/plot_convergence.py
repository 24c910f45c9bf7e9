"""Rule plot_convergence -> neft.plotting.plot_convergence."""

import pandas as pd

from neft.plotting import SCALE_NOTES, plot_convergence
from neft.runs import job_log


def main(smk) -> None:
    log = job_log(smk.log[0])
    summary = pd.read_csv(smk.input.csv, dtype={"sigma": str})
    plot_convergence(summary, smk.params.labels, list(smk.output.figures), note=SCALE_NOTES.get(smk.params.scale))
    log(f"drew {len(summary)} bars")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
