"""How much of NeFT's gain is the feedback term itself? Paired comparisons on the same chips.

For a NeFT instance I (OVF or IRS), its baseline B (W/ Noise), the temperature control T (W/ Noise with the
logits divided by N + 1, no extra passes or heads) and the no-feedback control I0 (I with beta = 0: same passes or
heads, same temperature), all trained at sigma and tested at sigma on the same chips:

    gain      = I  - B     what NeFT adds over noise injection
    temp      = T  - B     what the division by N + 1 alone recovers
    structure = I0 - B     what the extra passes / heads recover without any feedback
    feedback  = I  - I0    what the feedback term itself adds

Each is paired twice: per training seed on the same chips (chip k is the same seeded noise for every method, and
seed i the same data order and initialisation), then across seeds with the two-level interval of
``neft.util.stats.paired_two_level`` (a t-interval over the seeds' mean differences; with one seed, the chip-level
t-interval of the per-chip differences).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from neft.core.methods import MethodSpec
from neft.experiment.grid import COMPARISONS, sweep_name
from neft.util.sigma import format_sigma
from neft.util.stats import paired_two_level, two_level


def chip_values(chips: pd.DataFrame, model, dataset, device, method, sigma) -> pd.Series:
    g = chips[
        (chips.model == model)
        & (chips.dataset == dataset)
        & (chips.device == device)
        & (chips.method == method)
        & (chips.sigma_train == sigma)
        & (chips.sigma_test == sigma)
    ]
    return g.set_index(["seed", "chip"])["accuracy"].sort_index()


def by_seed(acc: pd.Series) -> list[np.ndarray]:
    """Per training seed (in seed order), the chips' values in chip order."""
    return [g.to_numpy() for _, g in acc.groupby(level="seed", sort=True)]


def decomposition(chips: pd.DataFrame, ablation: dict, ci: float = 0.95) -> pd.DataFrame:
    rows = []
    pairs = chips[["model", "dataset", "device"]].drop_duplicates().itertuples(index=False)
    for model, dataset, device in pairs:
        for inst, controls in ablation["instances"].items():
            names = {"instance": inst, "baseline": ablation["baseline"], **controls}
            for s in map(format_sigma, ablation["sigmas"]):
                acc = {role: chip_values(chips, model, dataset, device, m, s) for role, m in names.items()}
                if any(v.empty for v in acc.values()):
                    continue
                for comparison, a, b in COMPARISONS:
                    common = acc[a].index.intersection(acc[b].index)
                    d = paired_two_level(by_seed(acc[a][common]), by_seed(acc[b][common]), ci)
                    rows.append(
                        {
                            "model": model,
                            "dataset": dataset,
                            "device": device,
                            "instance": inst,
                            "sigma": s,
                            "comparison": comparison,
                            "method_a": names[a],
                            "method_b": names[b],
                            "seeds": d["seeds"],
                            "chips": d["chips"],
                            "mean_a": acc[a][common].mean(),
                            "mean_b": acc[b][common].mean(),
                            "diff": d["diff"],
                            "ci_low": d["ci_low"],
                            "ci_high": d["ci_high"],
                            "sd_between_seeds": d["sd_between_seeds"],
                        }
                    )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    gain = out[out.comparison == "gain"].set_index(["model", "dataset", "device", "instance", "sigma"])["diff"]
    key = list(zip(out.model, out.dataset, out.device, out.instance, out.sigma))
    out["share_of_gain"] = [
        (d / gain[k]) if c != "gain" and abs(gain[k]) > 1e-12 else np.nan
        for d, c, k in zip(out["diff"], out.comparison, key)
    ]
    return out


def beta_sweep(chips: pd.DataFrame, ablation: dict, methods: dict, ci: float = 0.95) -> pd.DataFrame:
    """Accuracy against beta per instance: beta = 0 (the no-feedback control), the paper's beta (the main run) and
    the swept betas, each with a paired difference to beta = 0, all on the training seeds every variant shares
    (``ablation.sweep_seeds`` may train the swept betas on fewer seeds than the main grid)."""
    rows = []
    pairs = chips[["model", "dataset", "device"]].drop_duplicates().itertuples(index=False)
    for model, dataset, device in pairs:
        for inst, betas in ablation["beta_sweep"].items():
            zero = ablation["instances"].get(inst, {}).get("no_feedback")
            main_beta = MethodSpec.from_params(methods[inst]).beta(model, dataset)
            variants = [(0.0, zero), (main_beta, inst)] + [(float(b), sweep_name(inst, b)) for b in betas]
            for s in map(format_sigma, ablation["sweep_sigmas"]):
                acc_of = {
                    name: chip_values(chips, model, dataset, device, name, s) if name else pd.Series(dtype=float)
                    for _, name in variants
                }
                # one curve, one set of seeds: the seeds every variant of the sweep was trained with
                shared = [set(a.index.get_level_values("seed")) for a in acc_of.values() if not a.empty]
                seeds = sorted(set.intersection(*shared)) if shared else []
                acc_of = {n: a[a.index.get_level_values("seed").isin(seeds)] for n, a in acc_of.items()}
                ref = acc_of.get(zero, pd.Series(dtype=float)) if zero else pd.Series(dtype=float)
                for beta, name in sorted(variants, key=lambda v: v[0]):
                    acc = acc_of[name]
                    if acc.empty:
                        continue
                    st = two_level(by_seed(acc), level=ci, percentiles=())
                    tag = f"ci{round(ci * 100)}"
                    row = {
                        "model": model,
                        "dataset": dataset,
                        "device": device,
                        "instance": inst,
                        "sigma": s,
                        "beta": beta,
                        "method": name,
                        "seeds": st["seeds"],
                        "chips": st["chips"],
                        "mean": st["mean"],
                        "ci_low": st[f"{tag}_low"],
                        "ci_high": st[f"{tag}_high"],
                    }
                    if not ref.empty:
                        common = acc.index.intersection(ref.index)
                        d = paired_two_level(by_seed(acc[common]), by_seed(ref[common]), ci)
                        row |= {"diff_vs_beta0": d["diff"], "diff_ci_low": d["ci_low"], "diff_ci_high": d["ci_high"]}
                    rows.append(row)
    return pd.DataFrame(rows)
