"""Rule plot_device_fits -> neft.report.plotting.plot_fits: the per-level std of aihwkit's published fits against each
card."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.core.devices import DeviceCard  # noqa: E402
from neft.core.fitting import read_fit_table  # noqa: E402
from neft.experiment.inputs import check_device_fit  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402
from neft.report.plotting import plot_fits  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    if len(smk.input.fits) != len(smk.input.cards):
        raise ValueError(f"plot_device_fits: {len(smk.input.fits)} fit tables but {len(smk.input.cards)} cards")
    cards, tables = {}, {}
    for fit_path, card_path in zip(smk.input.fits, smk.input.cards):
        card = DeviceCard.load(card_path)
        table = read_fit_table(fit_path)
        check_device_fit(table, fit_path, card, card_path)  # the fit of this card, level by level
        cards[card.name], tables[card.name] = card, table
    plot_fits(tables, list(smk.output.figures), cards=cards)
    log(f"drew {len(tables)} device fit(s) ({', '.join(tables)}) into {', '.join(smk.output.figures)}")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
