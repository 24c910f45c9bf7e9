"""What a reader of the summary looks at first: the verdict table (one row per claim: the paper's verdict, ours, n,
stability) and the short text (one point a sentence, an interval only where it carries the point), each number
cited from a table cell (``neft.analysis.citing``)."""

from __future__ import annotations

import pandas as pd

from neft.analysis.citing import Writer, is_empty, join_words, rows_where, sign_words
from neft.analysis.claims import NEFT_KINDS
from neft.analysis.evidence import rung_names, scale_sentence


# -- the verdict table: one row per claim ----------------------------------------------------------------------------
def verdict_rows(w: Writer) -> list[list[str]]:
    c = w.tables["claims"]
    rows = []
    for i in range(len(c)):
        r = c.iloc[i]
        n = w.cite("claims", i, "our_n") if isinstance(r["our_n"], str) and r["our_n"].strip() else "–"
        rows.append(
            [
                w.cite("claims", i, "claim"),
                w.cite("claims", i, "paper"),
                w.cite("claims", i, "ours"),
                n,
                _stability_cell(w, i),
            ]
        )
    return rows


def _stability_cell(w: Writer, i: int) -> str:
    """Claim row ``i``'s stability as the scorecard writes it (``neft.analysis.scorecard.stability_text``), cited."""
    r = w.tables["claims"].iloc[i]
    if "our_stability" not in r or pd.isna(r["our_stability"]) or pd.isna(r.get("our_resamples")):
        judged = r["ours"] in ("holds", "does not hold", "undecided")
        return "– (one seed)" if judged and str(r["our_n"]).startswith("1 seed") else "–"
    text = (
        f"{w.cite('claims', i, 'our_stability/our_resamples', '{:d}', 'share_count')}/"
        f"{w.cite('claims', i, 'our_resamples', '{:.0f}')} resamples "
        f"({w.cite('claims', i, 'our_stability', '{:.0%}')})"
    )
    if pd.notna(r.get("our_seeds_to_decide")):
        text += f"; ≈ {w.cite('claims', i, 'our_seeds_to_decide', '{:.0f}')} seeds would decide it"
    return text


# -- the short text: one point a sentence, an interval only where it carries the point ------------------------------
def scale(w: Writer, scale: str, sigma_scale: float, epochs, kinds: dict, record: dict | None) -> str:
    """What to keep in mind before any number: the scale, the training length, and what the scale ladder says
    longer training does to the headline gain and to the worst case."""
    t = w.tables
    out = []
    if scale != "paper":
        out.append(scale_sentence(scale, sigma_scale))
    if epochs is not None and scale != "paper":
        out.append(f"Each model trained for only {epochs} {'epoch' if epochs == 1 else 'epochs'}.")
    if not is_empty(t, "ladder") and not is_empty(t, "ladder_decomposition"):
        out += _ladder_brief(w, kinds, record)
    elif scale != "paper":
        out.append(
            "No scale ladder ran or was recorded, so how these findings move with longer training is not measured."
        )
    return " ".join(out)


def _ladder_brief(w: Writer, kinds: dict, record: dict | None) -> list[str]:
    acc, dec = w.tables["ladder"], w.tables["ladder_decomposition"]
    names = rung_names(acc)
    labels = dict(zip(acc["method"], acc["label"]))
    gains = [i for i in range(len(dec)) if dec.iloc[i]["comparison"] == "gain"]
    if not gains:
        return []
    instances = list(dict.fromkeys(str(dec.iloc[i]["instance"]) for i in gains))
    inst = next((x for x in instances if kinds.get(x, x) == "ovf"), instances[0])
    ps = max({str(dec.iloc[i]["paper_sigma"]) for i in gains}, key=float)  # the largest paper sigma: the headline's
    rows = [i for i in gains if str(dec.iloc[i]["instance"]) == inst and str(dec.iloc[i]["paper_sigma"]) == ps]
    first, last = rows[0], rows[-1]
    a, b = str(dec.iloc[first]["method_a"]), str(dec.iloc[first]["method_b"])
    la, lb = labels.get(a, a), labels.get(b, b)

    def rung(table, r):
        x = w.tables[table].iloc[r]
        return names[(str(x["width"]), int(x["epochs"]))]

    where = (
        f"The recorded scale ladder ({record['folder']}; a separate run, see “What the scale ladder measured (a "
        f"recorded run, not this one)” under Evidence)"
        if record
        else "The scale ladder (see “What the scale ladder measured” under Evidence)"
    )
    g0, g1 = float(dec.iloc[first]["diff"]), float(dec.iloc[last]["diff"])
    verb = "shrinks" if abs(g1) < abs(g0) else "grows"
    text = (
        f"{where} trained the same methods longer, for {join_words(list(dict.fromkeys(names.values())))}. "
        f"Longer training {verb} {la}'s gain over {lb} from {w.cite('ladder_decomposition', first, 'diff', '{:+.0f}')}"
        f" pp ({rung('ladder_decomposition', first)}) to {w.cite('ladder_decomposition', last, 'diff', '{:+.0f}')} pp "
        f"({rung('ladder_decomposition', last)})"
    )
    pa = rows_where(acc, paper_sigma=ps, method=a)
    pb = rows_where(acc, paper_sigma=ps, method=b)
    if len(pa) < 2 or len(pb) < 2:
        return [text + "."] + (["Read the gains below as those of short training."] if verb == "shrinks" else [])
    before = float(acc.iloc[pa[0]]["p1"]) - float(acc.iloc[pb[0]]["p1"])
    after = float(acc.iloc[pa[-1]]["p1"]) - float(acc.iloc[pb[-1]]["p1"])

    def p1(r):
        return w.cite("ladder", r, "p1", "{:.2f}")

    text += "."
    if (before > 0) != (after > 0):
        up, down = (pb[-1], pa[-1]) if before > 0 else (pa[-1], pb[-1])
        first_up = pa[0] if before > 0 else pb[0]
        worst = (
            f"It also reverses the worst case: at {rung('ladder', pa[-1])} "
            f"{labels.get(str(acc.iloc[up]['method']))}'s worst chips (1st percentile) beat "
            f"{labels.get(str(acc.iloc[down]['method']))}'s, {p1(up)} % against {p1(down)} %; at "
            f"{rung('ladder', pa[0])} {labels.get(str(acc.iloc[first_up]['method']))}'s were the better ones."
        )
    else:
        top = pa if before > 0 else pb
        worst = (
            f"The worst case keeps its order: {labels.get(str(acc.iloc[top[0]]['method']))}'s worst chips (1st "
            f"percentile) are the better ones at every rung ({p1(top[-1])} % at {rung('ladder', top[-1])})."
        )
    return [text, worst] + (["Read the gains below as those of short training."] if verb == "shrinks" else [])


def _claims_brief(w: Writer, metrics: tuple[str, ...], what: str) -> list[str]:
    """How many of the claims about ``what`` hold here, and each one that does not, in plain words."""
    c = w.tables["claims"]
    rows = [i for i in range(len(c)) if c.iloc[i]["metric"] in metrics]
    if not rows:
        return []
    held = [i for i in rows if c.iloc[i]["ours"] == "holds"]
    out = []
    if len(rows) > 1:
        n_held = w.cite("claims", held, "ours", "{}", "count")
        n_all = w.cite("claims", rows, "ours", "{}", "count")
        out.append(f"{n_held} of the paper's {n_all} claims about {what} {'holds' if len(held) == 1 else 'hold'} here.")
    for i in rows:
        r = c.iloc[i]
        if r["ours"] == "holds" and len(rows) > 1:
            continue
        claim = f"“{w.cite('claims', i, 'claim')}”"
        if r["ours"] == "holds":
            text = f"{claim} holds here"
        elif r["ours"] == "undecided":
            text = f"{claim} is undecided: our interval spans the boundary"
            if pd.notna(r.get("our_seeds_to_decide")):
                text += f"; about {w.cite('claims', i, 'our_seeds_to_decide', '{:.0f}')} seeds would decide it"
        elif r["ours"] == "does not hold":
            text = f"{claim} does not hold here"
            if r["paper"] == "holds":
                text += ", though it holds on the paper's own numbers"
        else:
            text = f"{claim} could not be tested here"
        out.append(text + ".")
    return out


def beats(w: Writer, kinds: dict, labels: dict) -> str:
    t = w.tables
    out = []
    if not is_empty(t, "headline"):
        h = t["headline"]
        panels = h[["model", "dataset"]].drop_duplicates()
        for k, inst in enumerate(dict.fromkeys(h["instance"])):
            rows = [i for i in range(len(h)) if h.iloc[i]["instance"] == inst]
            i = max(rows, key=lambda r: float(h.iloc[r]["gain_vs_noise_injection"]))
            name = labels.get(inst, str(inst).upper())
            on = f" on {w.panel('headline', i)}" + (
                f" (the largest of {len(panels)} panels)" if len(panels) > 1 else ""
            )
            gain = f"{w.cite('headline', i, 'gain_vs_noise_injection', '{:+.2f}')} pp"
            if k == 0:  # the headline: its interval carries the point
                gain += " " + w.interval(
                    "headline", i, "gain_vs_noise_injection_ci_low", "gain_vs_noise_injection_ci_high"
                )
                base = labels.get(h.iloc[i]["best_baseline_method"], h.iloc[i]["best_baseline_method"])
                out.append(
                    f"{name}'s largest gain over W/ Noise is {gain}, at σ = "
                    f"{w.cite('headline', i, 'sigma_vs_noise_injection')}{on}."
                )
                if kinds.get(h.iloc[i]["best_baseline_method"]) != "noise_injection":  # else the same number
                    out.append(
                        f"Over the best baseline ({base}) its largest gain is "
                        f"{w.cite('headline', i, 'gain_vs_best_baseline', '{:+.2f}')} pp."
                    )
            else:
                out.append(f"{name}'s is {gain}, at σ = {w.cite('headline', i, 'sigma_vs_noise_injection')}{on}.")
    if not is_empty(t, "accuracy"):
        a = t["accuracy"]
        tops, best = [], []
        for model, dataset in a[["model", "dataset"]].drop_duplicates().itertuples(index=False):
            rows = rows_where(a, model=model, dataset=dataset)
            for s in sorted(dict.fromkeys(a.iloc[rows]["sigma"].astype(str)), key=float):
                at = [r for r in rows if str(a.iloc[r]["sigma"]) == s and a.iloc[r]["method"] in kinds]
                if at:
                    top = max(at, key=lambda r: float(a.iloc[r]["mean"]))
                    tops.append(top)
                    best += [top] if kinds[a.iloc[top]["method"]] in NEFT_KINDS else []
        if tops:
            out.append(
                f"A NeFT method has the highest mean accuracy at {w.cite('accuracy', best, 'sigma', '{}', 'count')} of "
                f"{w.cite('accuracy', tops, 'sigma', '{}', 'count')} σ points."
            )
    out += _claims_brief(w, ("accuracy",), "accuracy")
    return " ".join(out)


def ablation(w: Writer, labels: dict) -> str | None:
    t = w.tables
    if is_empty(t, "ablation"):
        return None
    d = t["ablation"]
    first = d[["model", "dataset"]].drop_duplicates().iloc[0]
    rows = rows_where(d, model=first["model"], dataset=first["dataset"])
    top = max({str(d.iloc[r]["sigma"]) for r in rows}, key=float)
    here = {
        (str(d.iloc[r]["instance"]), str(d.iloc[r]["comparison"])): r for r in rows if str(d.iloc[r]["sigma"]) == top
    }
    instances = list(dict.fromkeys(i for i, _ in here))
    temp = [
        f"{w.cite('ablation', here[(i, 'temp')], 'share_of_gain', '{:.0%}')} of {labels.get(i, i.upper())}'s gain"
        for i in instances
        if (i, "temp") in here and pd.notna(d.iloc[here[(i, "temp")]]["share_of_gain"])
    ]
    feedback = [
        f"{sign_words(d.iloc[here[(i, 'feedback')]]['ci_low'], d.iloc[here[(i, 'feedback')]]['ci_high'])} for "
        f"{labels.get(i, i.upper())}"
        for i in instances
        if (i, "feedback") in here
    ]
    anchor = next(iter(here.values()))
    out = []
    if temp:
        out.append(
            f"At σ = {w.cite('ablation', anchor, 'sigma')}, the temperature alone recovers {join_words(temp)} over "
            "W/ Noise."
        )
    if feedback:
        out.append(f"The feedback term's part is {join_words(feedback)}.")
    return " ".join(out) or None


def uncertainty(w: Writer) -> str | None:
    return " ".join(_claims_brief(w, ("uncertainty", "confidence"), "uncertainty and confidence")) or None


def convergence(w: Writer, labels: dict) -> str | None:
    t = w.tables
    out = []
    if not is_empty(t, "convergence"):
        c = t["convergence"]
        first = c[["model", "dataset"]].drop_duplicates().iloc[0]
        rows = rows_where(c, model=first["model"], dataset=first["dataset"])
        top = max({str(c.iloc[r]["sigma"]) for r in rows}, key=float)
        rows = sorted(
            (r for r in rows if str(c.iloc[r]["sigma"]) == top),
            key=lambda r: -float(c.iloc[r]["converged"]) / max(float(c.iloc[r]["runs"]), 1.0),
        )
        parts = [
            f"{labels.get(c.iloc[r]['method'], c.iloc[r]['method'])} {w.cite('convergence', r, 'converged', '{:.0f}')}"
            f" of {w.cite('convergence', r, 'runs', '{:.0f}')}"
            for r in rows
        ]
        out.append(f"At σ = {w.cite('convergence', rows[0], 'sigma')}, these runs converged: {', '.join(parts)}.")
    out += _claims_brief(w, ("other",), "convergence")
    return " ".join(out) or None


def devices(w: Writer) -> str | None:
    """The most accurate method per device card, at the first panel and sigma (the others are under Evidence)."""
    t = w.tables
    if is_empty(t, "devices"):
        return None
    d = t["devices"]
    first = d.iloc[0]
    g = rows_where(d, model=first["model"], dataset=first["dataset"], sigma=first["sigma"])
    per_device = {}
    for r in g:
        per_device.setdefault(d.iloc[r]["device"], []).append(r)
    wins = {}
    for rows in per_device.values():
        top = max(rows, key=lambda r: float(d.iloc[r]["mean"]))
        wins.setdefault(d.iloc[top]["label"], []).append(top)
    win_text = join_words(
        [
            f"{w.cite('devices', rows[0], 'label')} on {w.cite('devices', rows, 'device', '{}', 'count')}"
            for rows in wins.values()
        ]
    )
    cards = w.cite("devices", [rows[0] for rows in per_device.values()], "device", "{}", "count")
    sigma = w.cite("devices", g[0], "sigma")
    return f"The most accurate method per device card at σ = {sigma}: {win_text} of {cards} cards."


def paper(w: Writer) -> str:
    t = w.tables
    out = []
    c = t["claims"]
    tally = []
    for verdict, words in (("holds", "hold"), ("undecided", "undecided"), ("does not hold", "do not hold")):
        rows = rows_where(c, ours=verdict)
        if rows:
            tally.append(f"{w.cite('claims', rows, 'ours', '{}', 'count')} {words}")
    rest = rows_where(c, ours="not evaluable")
    if rest:
        tally.append(f"{w.cite('claims', rest, 'ours', '{}', 'count')} could not be tested")
    out.append(
        f"Of the paper's {w.cite('claims', list(range(len(c))), 'ours', '{}', 'count')} claims: "
        + ", ".join(tally)
        + "."
    )
    if not is_empty(t, "points"):
        p = t["points"]
        compared = rows_where(p, status="compared")
        if compared:
            out.append(
                f"Of the paper's plotted points, {w.cite('points', compared, 'diff', '{}', 'count')} were run; ours "
                f"differ from them by {w.cite('points', compared, 'diff', '{:.2f}', 'mean_abs')} pp on average."
            )
    return " ".join(out)
