"""The jobs of workflow/rules/devices.smk: one function per rule, given its snakemake object (drawing: plots)."""

from __future__ import annotations

from neft.analysis.results import write_csv
from neft.core.devices import get
from neft.core.fitting import fit_file
from neft.jobs.runs import job_log


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
