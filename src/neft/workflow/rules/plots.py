"""The jobs of the rules that draw (plot_*, worst_chips), from every stage: the only rule module that imports
matplotlib and seaborn (neft.report.plotting, about 0.5 s of a cold job start), so that no other job pays for it."""

from __future__ import annotations

from neft.analysis.results import device_study_points
from neft.analysis.scorecard import load_reference
from neft.analysis.worst_chips import worst_table, write_worst_table
from neft.core.devices import DeviceCard
from neft.core.fitting import read_fit_table
from neft.experiment.handoff import read_curves, read_mc_chips
from neft.experiment.inputs import check_device_fit
from neft.experiment.study_handoff import read_ablation, read_convergence, read_ladder, read_study_table
from neft.jobs.runs import job_log
from neft.report import plotting

PLOTS = {
    "uncertainty": plotting.plot_uncertainty,
    "confidence": plotting.plot_confidence,
    "variance": plotting.plot_variance,
}


def plot_ablation(smk) -> None:
    """Rule plot_ablation -> neft.report.plotting.plot_ablation."""
    log = job_log(smk.log[0])
    decomp, sweep = read_ablation(smk.input.decomposition, smk.input.sweep, smk.params.points)
    plotting.plot_ablation(decomp, sweep, list(smk.output.figures), note=plotting.SCALE_NOTES.get(smk.params.scale))
    log(f"drew {len(decomp)} comparisons and {len(sweep)} sweep points")


def plot_convergence(smk) -> None:
    """Rule plot_convergence -> neft.report.plotting.plot_convergence."""
    log = job_log(smk.log[0])
    summary = read_convergence(smk.input.csv, smk.params.points)
    plotting.plot_convergence(
        summary, smk.params.labels, list(smk.output.figures), note=plotting.SCALE_NOTES.get(smk.params.scale)
    )
    log(f"drew {len(summary)} bars")


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
    plotting.plot_fits(tables, list(smk.output.figures), cards=cards)
    log(f"drew {len(tables)} device fit(s) ({', '.join(tables)}) into {', '.join(smk.output.figures)}")


def plot_accuracy(smk) -> None:
    """Rules plot_accuracy and plot_accuracy_panel (one (model, dataset) alone) ->
    neft.report.plotting.plot_accuracy."""
    log = job_log(smk.log[0])
    curves = read_curves(smk.input.curves, smk.params.points, smk.params.expect)
    if "model" in smk.wildcards.keys():  # one panel
        curves = curves[(curves.model == smk.wildcards.model) & (curves.dataset == smk.wildcards.dataset)]
        if curves.empty:
            raise ValueError(f"no results for {smk.wildcards.model}/{smk.wildcards.dataset}: is the pair configured?")
    p = smk.params
    titles = plotting.beta_titles(curves, p.methods)
    note = plotting.SCALE_NOTES.get(p.scale, "")
    reference = None
    if smk.input.get("reference"):  # figures.paper_points
        reference = plotting.paper_points(curves, load_reference(smk.input.reference), p.methods, p.sigma_scale)
        if p.sigma_scale != 1.0 and len(reference):
            note += f"\npaper's points (open markers) drawn at {p.sigma_scale:g} x their sigma"
    plotting.plot_accuracy(
        curves, list(smk.output.figures), note=note or None, titles=titles, device=p.device, reference=reference
    )
    drawn = f" and {len(reference)} of the paper's" if reference is not None else ""
    log(f"drew {len(curves)} points{drawn} into {', '.join(smk.output.figures)}")


def plot_devices(smk) -> None:
    """Rule plot_devices -> neft.report.plotting.plot_devices on the device study's points."""
    log = job_log(smk.log[0])
    points = device_study_points(read_curves(smk.input.curves, smk.params.points, smk.params.expect), smk.params.study)
    plotting.plot_devices(points, list(smk.output.figures), note=plotting.SCALE_NOTES.get(smk.params.scale))
    log(f"drew {len(points)} points")


def plot_metric(smk) -> None:
    """Rules plotting.plot_uncertainty, plotting.plot_confidence, plotting.plot_variance ->
    neft.report.plotting.plot_<kind>."""
    log = job_log(smk.log[0])
    curves = read_curves(smk.input.curves, smk.params.points, smk.params.expect)
    PLOTS[smk.params.kind](
        curves, list(smk.output.figures), note=plotting.SCALE_NOTES.get(smk.params.scale), device=smk.params.device
    )
    log(f"drew {smk.params.kind} for {len(curves)} points")


def plot_study(smk) -> None:
    """Rules plot_nonidealities, plot_drift -> neft.report.plotting.plot_study."""
    log = job_log(smk.log[0])
    table = read_study_table(smk.input.table, smk.params.points)
    plotting.plot_study(table, smk.params.labels, list(smk.output.figures), plotting.SCALE_NOTES.get(smk.params.scale))
    log(f"{len(table)} rows drawn")


def worst_chips(smk) -> None:
    """Rule worst_chips -> neft.analysis.worst_chips.worst_table, neft.report.plotting.plot_worst_chips."""
    log = job_log(smk.log[0])
    p = smk.params
    chips = read_mc_chips(smk.input.chips, p.expect, p.sweeps)
    table = worst_table(chips, p.experiments)
    write_worst_table(table, p.labels, p.mc_seed, smk.output.csv, smk.output.md)
    plotting.plot_worst_chips(chips, table, p.labels, list(smk.output.figures), plotting.SCALE_NOTES.get(p.scale))
    log(
        f"{len(table)} points; largest gap between the 1st percentile and the worst chip: "
        f"{table.p1_minus_worst.max():.2f} pp"
        if len(table)
        else "no points"
    )


def plot_ladder(smk) -> None:
    """Rule plot_ladder -> neft.report.plotting.plot_ladder."""
    log = job_log(smk.log[0])
    acc, decomp = read_ladder(smk.input.accuracy, smk.input.decomposition, smk.params.points)
    plotting.plot_ladder(acc, decomp, smk.params.labels, list(smk.output.figures))
    log(f"drew {len(acc)} (rung, method) points")


def plot_scorecard(smk) -> None:
    """Rule plot_scorecard -> neft.report.plotting.plot_scorecard: ours and the paper's points, one facet per method."""
    log = job_log(smk.log[0])
    p = smk.params
    curves = read_curves(smk.input.curves, smk.params.points, smk.params.expect)
    curves = curves[curves.device == p.device]
    ref = plotting.paper_points(curves, load_reference(smk.input.reference), p.methods, p.sigma_scale)  # on our axis
    plotting.plot_scorecard(
        curves,
        ref,
        list(smk.output.figures),
        note=plotting.SCALE_NOTES.get(p.scale),
        titles=plotting.beta_titles(curves, p.methods),
        device=p.device,
        sigma_scale=p.sigma_scale,  # named in the legend
        ci=p.ci,
    )
    log(f"{len(ref)} paper points over {len(curves)} of ours")
