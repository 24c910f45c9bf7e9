"""The jobs of workflow/rules/devices.smk: one function per rule script, given the job's snakemake object."""

from __future__ import annotations

from neft.analysis.results import write_csv
from neft.core.devices import DeviceCard, get
from neft.core.fitting import fit_file, read_fit_table
from neft.experiment.inputs import check_device_fit
from neft.jobs.runs import job_log
from neft.report.plotting import plot_fits


def device_card(smk) -> None:
    """Rule device_card -> neft.core.devices.get (a shipped preset) saved with its provenance."""
    log = job_log(smk.log[0])
    card = get(smk.wildcards.device)
    card.save(smk.output.card)
    log(f"device {card.name}: c = {card.c:.6f}, s = {card.middle_multiplier}, source: {card.provenance.get('source')}")


def fit_device(smk) -> None:
    """Rule fit_device -> neft.core.fitting.fit_file: a measured device's per-level statistics fitted to a NeFT card."""
    log = job_log(smk.log[0])
    # record the data path as the config wrote it (repository-relative), not this machine's absolute path
    source = getattr(smk.params, "source", None) or str(smk.input.data)
    card, table = fit_file(smk.input.data, smk.params.source_device, smk.wildcards.device, source=source)
    card.save(smk.output.card)
    write_csv(table, smk.output.fit, float_format="%.8g")
    fit = card.extra["fit"]
    log(
        f"device {card.name} from {smk.params.source_device} in {source}: s = {card.middle_multiplier:.4f}, "
        f"sigma' = {fit['sigma_prime']:.5f}, measured_sigma = {card.extra['measured_sigma']:.5f}, "
        f"rmse = {fit['rmse']:.5f}, r2 = {fit['r2']:.3f}" + (" (s at its bound)" if fit["s_at_bound"] else "")
    )


def plot_device_fits(smk) -> None:
    """Rule plot_device_fits -> neft.report.plotting.plot_fits: the per-level std of aihwkit's published fits against
    each
    card."""
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
