"""Rule calibrate_rung_sigma -> neft.jobs.runs.calibration_job (the ladder's sigma rule,
neft.experiment.rungs.crossing_factor)."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.analysis.scorecard import load_reference  # noqa: E402
from neft.experiment.job_specs import EvalJob, EvalPaths  # noqa: E402
from neft.jobs.runs import calibration_job, job_log  # noqa: E402
from neft.util.sigma import format_sigma  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    p = smk.params
    pair, rule = p.pair, p.rule
    ref = load_reference(smk.input.reference)
    at = ref[
        (ref.model == pair["model"])
        & (ref.dataset == pair["dataset"])
        & (ref.method == p.reference_kind)
        & (ref.sigma == format_sigma(rule["reference_sigma"]))
    ]
    if at.empty:
        raise ValueError(
            f"{smk.input.reference}: no paper value for {p.reference_kind} on {pair['model']}/{pair['dataset']} at "
            f"sigma {rule['reference_sigma']} (scale_study.sigma_rule.reference_sigma)"
        )
    job = EvalJob(
        model=pair["model"],
        width=p.model["width"],
        dataset=pair["dataset"],
        sigma_test=rule["reference_sigma"],
        mc=p.mc,
        registry=p.registry,
        data=p.data,
        compute=p.compute,
    )
    i, o = smk.input, smk.output
    paths = EvalPaths(i.data, i.model, i.card, out=o.factor, sweep=o.sweep)
    calibration_job(job, paths, rule, float(at["value"].iloc[0]), log)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
