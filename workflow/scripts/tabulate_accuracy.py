"""Rule tabulate_accuracy -> neft.tables.write_accuracy_table."""

from neft.results import read_chips
from neft.runs import job_log
from neft.tables import write_accuracy_table


def main(smk) -> None:
    log = job_log(smk.log[0])
    curves = read_chips(smk.input.curves)
    write_accuracy_table(curves, smk.output.csv, smk.output.md, smk.output.tex, device=smk.params.device)
    log(f"{len(curves)} rows")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
