"""The evidence of the run's summary: per question (does NeFT beat the baselines, the ablation, uncertainty,
convergence, the devices, the scale ladder, the scale), the list of items with every interval, each number cited
from a table cell (``neft.analysis.citing``)."""

from __future__ import annotations

import pandas as pd

from neft.analysis.citing import Writer, is_empty, join_words, rows_where, sign_words
from neft.analysis.claims import NEFT_KINDS


# -- the evidence: one list of items per question ----------------------------------------------------------------
def beats(w: Writer, kinds: dict, labels: dict) -> list[str]:
    t = w.tables
    out = []
    if not is_empty(t, "headline"):
        h = t["headline"]
        for i, r in h.iterrows():
            inst = labels.get(r["instance"], str(r["instance"]).upper())
            base = labels.get(r["best_baseline_method"], r["best_baseline_method"])
            out.append(
                f"On {w.panel('headline', i)}, {inst}'s largest gain over the best baseline is "
                f"{w.cite('headline', i, 'gain_vs_best_baseline', '{:+.2f}')} pp "
                f"{w.interval('headline', i, 'gain_vs_best_baseline_ci_low', 'gain_vs_best_baseline_ci_high')} "
                f"at σ = {w.cite('headline', i, 'sigma_vs_best_baseline')} (over {base}), and over W/ Noise "
                f"{w.cite('headline', i, 'gain_vs_noise_injection', '{:+.2f}')} pp "
                f"{w.interval('headline', i, 'gain_vs_noise_injection_ci_low', 'gain_vs_noise_injection_ci_high')} "
                f"at σ = {w.cite('headline', i, 'sigma_vs_noise_injection')} "
                f"({w.cite('headline', i, 'gain_vs_best_baseline_seeds', '{:.0f}')} training "
                f"{'seed' if r['gain_vs_best_baseline_seeds'] == 1 else 'seeds'} x "
                f"{w.cite('headline', i, 'gain_vs_best_baseline_chips_per_seed', '{:.0f}')} chips per seed)."
            )
    if not is_empty(t, "accuracy"):
        a = t["accuracy"]
        for model, dataset in a[["model", "dataset"]].drop_duplicates().itertuples(index=False):
            rows = rows_where(a, model=model, dataset=dataset)
            best = []
            sigmas = sorted(dict.fromkeys(a.iloc[rows]["sigma"].astype(str)), key=float)
            for s in sigmas:
                at = [r for r in rows if str(a.iloc[r]["sigma"]) == s and a.iloc[r]["method"] in kinds]
                if not at:
                    continue
                top = max(at, key=lambda r: float(a.iloc[r]["mean"]))
                if kinds[a.iloc[top]["method"]] in NEFT_KINDS:
                    best.append(top)
            where = join_words([f"{w.cite('accuracy', r, 'sigma')} ({w.cite('accuracy', r, 'label')})" for r in best])
            out.append(
                f"A NeFT instance has the highest mean accuracy at {len(best)} of {len(sigmas)} σ points on "
                f"{w.panel('accuracy', rows[0])}" + (f": σ = {where}." if best else ".")
            )
    out += _claim_sentences(w, "accuracy")
    return out or ["No accuracy table was built in this run."]


def _claim_sentences(w: Writer, metric: str) -> list[str]:
    c = w.tables["claims"]
    out = []
    for i in rows_where(c, metric=metric):
        n = c.iloc[i]["our_n"]
        n_text = f"; n = {w.cite('claims', i, 'our_n')}" if isinstance(n, str) and n.strip() else ""
        out.append(
            f"Claim “{w.cite('claims', i, 'claim')}”: ours **{w.cite('claims', i, 'ours')}** "
            f"({w.cite('claims', i, 'our_evidence')}{n_text}{_stability_text(w, i)}); on the paper's own numbers: "
            f"{w.cite('claims', i, 'paper')}."
        )
    return out


def _stability_text(w: Writer, i: int) -> str:
    """How stable claim row ``i``'s verdict is over seed resamples (neft.analysis.stability), cited from the claims
    table; nothing where the table has no stability columns or the claim no verdict."""
    r = w.tables["claims"].iloc[i]
    if "our_stability" not in r or r["ours"] not in ("holds", "does not hold", "undecided"):
        return ""
    if pd.isna(r["our_stability"]) or pd.isna(r.get("our_resamples")):
        one_seed = str(r["our_n"]).startswith("1 seed")
        return "; one training seed: no resamples to judge its stability" if one_seed else ""
    # the convergence claim (metric "other") resamples each method's runs, the others the training seeds
    unit = "resamples of each method's runs" if r["metric"] == "other" else "seed resamples"
    text = (
        f"; stable in {w.cite('claims', i, 'our_stability', '{:.0%}')} of "
        f"{w.cite('claims', i, 'our_resamples', '{:.0f}')} {unit}"
    )
    if pd.notna(r.get("our_seeds_to_decide")):
        text += f"; about {w.cite('claims', i, 'our_seeds_to_decide', '{:.0f}')} seeds would decide it"
    return text


def ablation(w: Writer, labels: dict) -> list[str]:
    t = w.tables
    if is_empty(t, "ablation"):
        return ["The ablation did not run (ablation.enabled is off)."]
    d = t["ablation"]
    out = []
    for _, g in d.groupby(["model", "dataset", "instance", "sigma"], sort=False):
        inst = g["instance"].iloc[0]
        here = dict(zip(g["comparison"], g.index))
        if "gain" not in here:
            continue
        g = here["gain"]
        parts = []
        for comp, words in (
            ("temp", "temperature alone"),
            ("structure", "the passes/heads without feedback"),
            ("feedback", "the feedback term"),
        ):
            if comp not in here:
                continue
            r = here[comp]
            share = d.iloc[r]["share_of_gain"]
            share_text = f", {w.cite('ablation', r, 'share_of_gain', '{:.0%}')} of the gain" if pd.notna(share) else ""
            parts.append(
                f"{words} {w.cite('ablation', r, 'diff', '{:+.2f}')} pp "
                f"{w.interval('ablation', r, 'ci_low', 'ci_high')} "
                f"({sign_words(d.iloc[r]['ci_low'], d.iloc[r]['ci_high'])}{share_text})"
            )
        out.append(
            f"{labels.get(inst, str(inst).upper())} on {w.panel('ablation', g)} at σ = "
            f"{w.cite('ablation', g, 'sigma')}: NeFT − W/ Noise is {w.cite('ablation', g, 'diff', '{:+.2f}')} pp "
            f"{w.interval('ablation', g, 'ci_low', 'ci_high')}; of it, " + "; ".join(parts) + "."
        )
    return out + ["Paired differences on the same chips; the shares are of the NeFT − W/ Noise mean."]


def uncertainty(w: Writer, kinds: dict) -> list[str]:
    t = w.tables
    out = _claim_sentences(w, "uncertainty") + _claim_sentences(w, "confidence")
    if not is_empty(t, "variance"):
        v = t["variance"]
        parts = []
        for method in [m for m, k in kinds.items() if k in ("noise_injection", "ovf")]:
            rows = rows_where(v, method=method)
            if not rows:
                continue
            top = max(rows, key=lambda r: float(v.iloc[r]["sigma"]))  # the largest sigma of the first panel
            between = v.iloc[top]["sd_between_seeds"]
            between_text = (
                f"{w.cite('variance', top, 'sd_between_seeds', '{:.2f}')} pp between training seeds"
                if pd.notna(between)
                else "no between-seed std (one training seed)"
            )
            parts.append(
                f"{w.cite('variance', top, 'label')} at σ = {w.cite('variance', top, 'sigma')}: {between_text}, "
                f"{w.cite('variance', top, 'sd_within_seed', '{:.2f}')} pp between chips of one seed"
            )
        if parts:
            out.append("How much of the spread is the training seed: " + "; ".join(parts) + ".")
    return out or ["No uncertainty or confidence claims were checked."]


def convergence(w: Writer, labels: dict) -> list[str]:
    t = w.tables
    out = []
    if is_empty(t, "convergence"):
        out.append("The convergence study did not run (convergence.enabled is off).")
    else:
        c = t["convergence"]
        parts = [
            f"{labels.get(r['method'], r['method'])} {w.cite('convergence', i, 'converged', '{:.0f}')}/"
            f"{w.cite('convergence', i, 'runs', '{:.0f}')} at σ = {w.cite('convergence', i, 'sigma')} "
            f"[{w.cite('convergence', i, 'converged/runs', '{:.0f}', 'wilson_low')} %, "
            f"{w.cite('convergence', i, 'converged/runs', '{:.0f}', 'wilson_high')} %]"
            for i, r in c.iterrows()
        ]
        out.append("Runs that converged (Wilson 95 % intervals): " + "; ".join(parts) + ".")
    out += _claim_sentences(w, "other")
    return out


def devices(w: Writer) -> list[str]:
    t = w.tables
    if is_empty(t, "devices"):
        return ["The device study did not run."]
    d = t["devices"]
    out = []
    for _, g in d.groupby(["model", "dataset", "sigma"], sort=False):
        parts = []
        for method in dict.fromkeys(g["method"]):
            rows = [i for i in g.index if d.iloc[i]["method"] == method]
            if len(rows) < 2:
                continue
            lo = min(rows, key=lambda r: float(d.iloc[r]["mean"]))
            hi = max(rows, key=lambda r: float(d.iloc[r]["mean"]))
            parts.append(
                f"{w.cite('devices', lo, 'label')} {w.cite('devices', lo, 'mean', '{:.2f}')} % "
                f"({w.cite('devices', lo, 'device')}) to {w.cite('devices', hi, 'mean', '{:.2f}')} % "
                f"({w.cite('devices', hi, 'device')})"
            )
        devices = list(dict.fromkeys(g["device"]))
        wins = {}
        for dev in devices:
            rows = [i for i in g.index if d.iloc[i]["device"] == dev]
            top = max(rows, key=lambda r: float(d.iloc[r]["mean"]))
            wins.setdefault(d.iloc[top]["label"], []).append(top)
        win_text = join_words(
            [
                f"{w.cite('devices', rows[0], 'label')} on {w.cite('devices', rows, 'device', '{}', 'count')}"
                for rows in wins.values()
            ]
        )
        first = g.index[0]
        out.append(
            f"On {w.panel('devices', first)} at σ = {w.cite('devices', first, 'sigma')}, from the worst to the best "
            f"device: " + "; ".join(parts) + f". The best method per device: {win_text} of "
            f"{len(devices)} devices."
        )
    return out


def rung_names(acc: pd.DataFrame) -> dict[tuple[str, int], str]:
    """Each rung's short name: '8 epochs' when the ladder has one width, else 'width 0.25, 8 epochs'."""
    one_width = acc["width"].astype(str).nunique() == 1
    return {
        (str(r.width), int(r.epochs)): (f"{r.epochs} epochs" if one_width else f"width {r.width}, {r.epochs} epochs")
        for r in acc.itertuples(index=False)
    }


def _along(w: Writer, table: str, rows: list[int], names: dict, column: str, fmt: str, ci=None) -> str:
    """One quantity along the rungs, each value with its rung's name (and interval where ``ci`` names columns)."""
    t = w.tables[table]
    parts = []
    for r in rows:
        text = w.cite(table, r, column, fmt)
        if ci and pd.notna(t.iloc[r][ci[0]]) and pd.notna(t.iloc[r][ci[1]]):
            text += " " + w.interval(table, r, ci[0], ci[1], fmt)
        parts.append(f"{text} ({names[(str(t.iloc[r]['width']), int(t.iloc[r]['epochs']))]})")
    return " → ".join(parts)


def ladder(w: Writer, kinds: dict, labels: dict, record: dict | None = None) -> list[str]:
    """What the scale ladder measured (scale_study): per paper sigma, the methods' accuracy, NeFT's gain over
    W/ Noise and its split, convergence and the last doubling along the rungs; then which claims keep their verdict
    along the ladder and which change."""
    t = w.tables
    acc, dec, ver = t["ladder"], t.get("ladder_decomposition"), t.get("ladder_claims")
    labels = labels | dict(zip(acc["method"], acc["label"]))  # a recorded ladder may hold methods this run has not
    names = rung_names(acc)
    out = []
    if record:
        out.append(
            f"These numbers come from the ladder recorded in {record['folder']} ({record['what']}), not from this run: "
            f"they say how the {record['scale']} scale's findings move with longer training."
        )
    widths = sorted({str(x) for x in acc["width"]}, key=float)
    factors = [f"{w.cite('ladder', rows_where(acc, width=x)[0], 'factor', '{:g}')} at width {x}" for x in widths]
    out.append(
        f"The ladder trained each method at {len(names)} rungs "
        f"({join_words(list(dict.fromkeys(names.values())))}) with "
        f"the same training seeds, on the same seeded chips; each width's σ comes from the sigma rule "
        f"(factor {join_words(factors)} x the paper's σ)."
    )
    main = [m for m, k in kinds.items() if k in ("noise_injection", "correctnet", "ovf", "irs")]
    for ps in dict.fromkeys(str(x) for x in acc["paper_sigma"]):
        parts = []
        for m in main:
            rows = rows_where(acc, paper_sigma=ps, method=m)
            if rows:
                ci = ("ci95_low", "ci95_high")
                parts.append(f"{labels.get(m, m)} {_along(w, 'ladder', rows, names, 'mean', '{:.2f}', ci)}")
        sig = w.cite("ladder", rows_where(acc, paper_sigma=ps)[0], "sigma")
        if parts:
            out.append(f"At paper σ = {ps} (ours {sig}), accuracy (%): " + "; ".join(parts) + ".")
        worst = []
        for m in main:
            rows = rows_where(acc, paper_sigma=ps, method=m)
            if rows:
                worst.append(f"{labels.get(m, m)} {_along(w, 'ladder', rows, names, 'p1', '{:.2f}')}")
        if worst:
            out.append("The 1st percentile of chips (%, the worst case): " + "; ".join(worst) + ".")
        if not is_empty(t, "ladder_decomposition"):
            for inst in dict.fromkeys(dec["instance"].astype(str)):
                bits = []
                for comp, what in (
                    ("gain", "gain over W/ Noise"),
                    ("temp", "temperature alone"),
                    ("feedback", "feedback term"),
                ):
                    rows = rows_where(dec, paper_sigma=ps, instance=inst, comparison=comp)
                    if rows:
                        ci = ("ci_low", "ci_high")
                        bits.append(f"{what} {_along(w, 'ladder_decomposition', rows, names, 'diff', '{:+.2f}', ci)}")
                if bits:
                    out.append(f"{labels.get(inst, inst)}'s " + "; ".join(bits) + " pp.")
        conv = []
        for m in main:
            rows = [r for r in rows_where(acc, paper_sigma=ps, method=m) if pd.notna(acc.iloc[r]["runs"])]
            if rows:
                counts = [
                    f"{w.cite('ladder', r, 'converged', '{:.0f}')}/{w.cite('ladder', r, 'runs', '{:.0f}')} "
                    f"({names[(str(acc.iloc[r]['width']), int(acc.iloc[r]['epochs']))]})"
                    for r in rows
                ]
                conv.append(f"{labels.get(m, m)} " + " → ".join(counts))
        if conv:
            out.append("Runs that converged: " + "; ".join(conv) + ".")
        doubling = []
        for m in main:
            rows = [r for r in rows_where(acc, paper_sigma=ps, method=m) if pd.notna(acc.iloc[r]["doubling_gain"])]
            if rows:
                r = rows[-1]
                doubling.append(
                    f"{labels.get(m, m)} {w.cite('ladder', r, 'doubling_gain', '{:+.2f}')}"
                    + (
                        f" {w.interval('ladder', r, 'doubling_ci_low', 'doubling_ci_high')}"
                        if pd.notna(acc.iloc[r]["doubling_ci_low"])
                        else ""
                    )
                )
        if doubling:
            last = acc.iloc[[r for r in rows_where(acc, paper_sigma=ps) if pd.notna(acc.iloc[r]["doubling_gain"])][-1]]
            out.append(
                f"The last doubling ({int(last['doubling_from'])} → {int(last['epochs'])} epochs) still added "
                + "; ".join(doubling)
                + " pp."
            )
    if not is_empty(t, "ladder_claims"):
        kept, changed = [], []
        for claim in dict.fromkeys(ver["claim"].astype(str)):
            rows = rows_where(ver, claim=claim)
            verdicts = [str(ver.iloc[r]["verdict"]) for r in rows]
            if all(v == "–" for v in verdicts):
                continue
            stable = [r for r in rows if pd.notna(ver.iloc[r]["stability"])]
            shares = (
                "; stable in "
                + ", ".join(w.cite("ladder_claims", r, "stability", "{:.0%}") for r in stable)
                + " of seed resamples"
                if stable
                else ""
            )
            if len(set(verdicts)) == 1:
                kept.append(f"“{claim}” ({w.cite('ladder_claims', rows[0], 'verdict')} at every rung{shares})")
            else:
                steps = [
                    f"{w.cite('ladder_claims', r, 'verdict')} at "
                    f"{names[(str(ver.iloc[r]['width']), int(ver.iloc[r]['epochs']))]}"
                    for r in rows
                ]
                changed.append(f"“{claim}”: " + ", ".join(steps) + (f" ({shares[2:]})" if shares else ""))
        if kept:
            out.append("Verdicts that held along the ladder: " + "; ".join(kept) + ".")
        if changed:
            out.append("Verdicts that changed with training: " + "; ".join(changed) + ".")
    return out


def scale_sentence(scale: str, sigma_scale: float) -> str:
    return (
        f"This is the {scale} scale, not the paper's: smaller models, data and chip counts, and a σ grid "
        f"{sigma_scale:g} x the paper's."
    )


def scale_items(w: Writer, scale: str, sigma_scale: float) -> list[str]:
    t = w.tables
    out = []
    if scale != "paper":
        out.append(
            scale_sentence(scale, sigma_scale)
            + (
                " How its findings move with longer training is what the scale ladder above measured."
                if not is_empty(t, "ladder")
                else ""
            )
        )
    if not is_empty(t, "points"):
        p = t["points"]
        compared = rows_where(p, status="compared")
        inside = rows_where(p, status="compared", paper_in_ci="yes")
        if compared:
            out.append(
                f"{w.cite('points', compared, 'diff', '{}', 'count')} of the paper's "
                f"{w.cite('points', list(range(len(p))), 'diff', '{}', 'count')} plotted points were run; the "
                f"paper's value lies in our interval at {w.cite('points', inside, 'diff', '{}', 'count')}, and the "
                f"mean |ours − paper| is {w.cite('points', compared, 'diff', '{:.2f}', 'mean_abs')} pp."
            )
    c = t["claims"]
    tally = []
    for verdict in ("holds", "undecided", "does not hold", "not evaluable"):
        rows = rows_where(c, ours=verdict)
        if rows:
            tally.append(f"{verdict} {w.cite('claims', rows, 'ours', '{}', 'count')}")
    out.append(
        f"Of the paper's {w.cite('claims', list(range(len(c))), 'ours', '{}', 'count')} claims checked here, "
        f"ours: " + ", ".join(tally) + "."
    )
    return out
