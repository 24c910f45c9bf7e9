"""Rule device_card -> neft.devices.get (a shipped preset) saved with its provenance."""

from neft.devices import get
from neft.runs import job_log


def main(smk) -> None:
    log = job_log(smk.log[0])
    card = get(smk.wildcards.device)
    card.save(smk.output.card)
    log(f"device {card.name}: c = {card.c:.6f}, s = {card.middle_multiplier}, source: {card.provenance.get('source')}")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 - injected by Snakemake
