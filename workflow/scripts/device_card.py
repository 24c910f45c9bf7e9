"""Rule device_card -> neft.core.devices.get (a shipped preset) saved with its provenance."""

from neft.workflow.warmstart import delegate

delegate(globals())  # run in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.core.devices import get  # noqa: E402
from neft.jobs.runs import job_log  # noqa: E402


def main(smk) -> None:
    log = job_log(smk.log[0])
    card = get(smk.wildcards.device)
    card.save(smk.output.card)
    log(f"device {card.name}: c = {card.c:.6f}, s = {card.middle_multiplier}, source: {card.provenance.get('source')}")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
