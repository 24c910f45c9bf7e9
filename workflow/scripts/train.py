"""Rule train -> neft.runs.train_job."""

from neft.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.warmstart)

from neft.runs import job_log, train_job  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    wc, p, training = smk.wildcards, smk.params, dict(smk.params.training)
    selection = training.pop("selection")
    settings = {
        "epochs": training["epochs"],
        "batch_size": training["batch_size"],
        "lr": p.model["lr"],
        "weight_decay": training["weight_decay"],
        "schedule": training["schedule"],
        "eval_batch_size": training["eval_batch_size"],
        "selection_split": selection["split"],
        "selection_metric": selection["metric"],
        "selection_chips": selection["chips"],
    }
    train_job(
        model=wc.model,
        width=p.model["width"],
        dataset=wc.dataset,
        registry=p.registry,
        data_path=smk.input.data,
        data_cfg=p.data,
        method_kind=p.method["kind"],
        method_params=p.method["params"],
        card_path=smk.input.card,
        sigma=wc.sigma,
        seed=int(wc.seed),
        settings=settings,
        compute=p.compute,
        out_model=smk.output.model,
        out_log=smk.output.log_csv,
        state_path=p.state,
        log=log,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
