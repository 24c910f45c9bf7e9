"""The scale ladder's tables: accuracy, decomposition and claims per rung, from the ladder's sweeps.

The ladder's layout and its sigma rule (what a rung is, the factor sweep) are ``neft.experiment.rungs``'.
"""

from __future__ import annotations

from neft.analysis import claims, stability
from neft.analysis.ablation import by_seed, decomposition
from neft.experiment.contracts import RERUN_MC
from neft.experiment.handoff import read_mc_sweep
from neft.experiment.rungs import Rung, halved, rung_sigma, rungs
from neft.experiment.tablecheck import HandoffError
from neft.report.labels import COMPARISON_LABELS
from neft.report.table_writers import markdown_table
from neft.util.checks import read_text
from neft.util.sigma import format_sigma
from neft.util.stats import paired_two_level, two_level

#: columns of the ladder's sweeps that are spellings, not numbers
TEXT_COLUMNS = {"width": str, "paper_sigma": str, "sigma_train": str, "sigma_test": str}
#: the key columns a ladder sweep writes before the experiment's (``workflow/scripts/evaluate_rung.py``)
RUNG_KEYS = {"width": str, "epochs": "int64", "paper_sigma": str}


def read_sweep(csv_path, json_path, path_keys: dict, expect: dict | None = None):
    """A ladder sweep, checked as every MC sweep is (``neft.experiment.handoff.read_mc_sweep``: the CSV against the
    digest and keys its JSON recorded, the chip count against ``expect``, ``neft.experiment.handoff.mc_expectation``),
    and its keys against what the DAG asked of it (``path_keys``: the rung, method, paper sigma and seed its path
    names)."""

    rows, stats, _ = read_mc_sweep(csv_path, json_path, expect, RUNG_KEYS)
    wrong = [f"{k} is {stats[k]!r}, its path says {v!r}" for k, v in path_keys.items() if str(stats[k]) != str(v)]
    if wrong:
        raise HandoffError(f"{json_path}: {'; '.join(wrong)}; {RERUN_MC}")
    return rows.astype(TEXT_COLUMNS), stats


# -- the ladder's tables ---------------------------------------------------------------------------------------------
NO_SEEDS = "one seed: no interval and no verdict"


def _rung_rows(frame, rung: Rung):
    return frame[(frame.width.astype(float) == rung.width) & (frame.epochs.astype(int) == rung.epochs)]


def _interval(d: dict, seeds: int) -> tuple[float, float]:
    """A difference's interval, or none with a single training seed (the ladder's rule: one seed shows no
    interval, since chips of one trained model say nothing about another training)."""
    return (d["ci_low"], d["ci_high"]) if seeds >= 2 else (float("nan"), float("nan"))


def accuracy_table(chips, summary, convergence, factors: dict, study: dict, labels: dict):
    """One row per (rung, paper sigma, method): accuracy over seeds and chips (two-level mean and interval, the
    1st and 5th percentile of all chips), expected KL and confident-correct probability (mean over seeds), runs
    that converged, and what the last doubling of epochs added (paired per seed on the same chips)."""
    import pandas as pd

    rows = []
    for rung in rungs(study):
        r_chips, r_sum = _rung_rows(chips, rung), _rung_rows(summary, rung)
        half = halved(study, rung)
        for ps in map(format_sigma, study["paper_sigmas"]):
            for method in study["methods"]:
                g = r_chips[(r_chips.paper_sigma == ps) & (r_chips.method == method)]
                acc = g.set_index(["seed", "chip"])["accuracy"].sort_index()
                if acc.empty:
                    continue
                st = two_level(by_seed(acc), percentiles=(1, 5))
                low, high = _interval({"ci_low": st["ci95_low"], "ci_high": st["ci95_high"]}, st["seeds"])
                s = r_sum[(r_sum.paper_sigma == ps) & (r_sum.method == method)]
                conv = convergence[
                    (convergence.width.astype(float) == rung.width)
                    & (convergence.epochs.astype(int) == rung.epochs)
                    & (convergence.method == method)
                    & (convergence.paper_sigma == ps)
                ]
                row = {
                    "width": rung.width_text,
                    "epochs": rung.epochs,
                    "factor": factors[rung.width_text],
                    "paper_sigma": ps,
                    "sigma": g["sigma_test"].iloc[0],
                    "method": method,
                    "label": labels.get(method, method),
                    "seeds": st["seeds"],
                    "chips_per_seed": st["chips_per_seed"],
                    "mean": st["mean"],
                    "ci95_low": low,
                    "ci95_high": high,
                    "p1": st["p1"],
                    "p5": st["p5"],
                    "sd_between_seeds": st["sd_between_seeds"],
                    "sd_within_seed": st["sd_within_seed"],
                    "ekl_1e-2": float(s["ekl"].mean() * 100) if len(s) else float("nan"),
                    "confidence_correct": float(g.groupby("seed")["confidence_correct"].mean().mean()),
                    "converged": int(conv["converged"].sum()) if len(conv) else pd.NA,
                    "runs": len(conv) if len(conv) else pd.NA,
                    "doubling_from": pd.NA,
                    "doubling_gain": float("nan"),
                    "doubling_ci_low": float("nan"),
                    "doubling_ci_high": float("nan"),
                }
                if half is not None:
                    h = _rung_rows(chips, half)
                    prev = h[(h.paper_sigma == ps) & (h.method == method)].set_index(["seed", "chip"])["accuracy"]
                    common = acc.index.intersection(prev.index)
                    if len(common):
                        d = paired_two_level(by_seed(acc[common]), by_seed(prev.sort_index()[common]))
                        low, high = _interval(d, d["seeds"])
                        row |= {
                            "doubling_from": half.epochs,
                            "doubling_gain": d["diff"],
                            "doubling_ci_low": low,
                            "doubling_ci_high": high,
                        }
                rows.append(row)
    return pd.DataFrame(rows)


def decomposition_table(chips, factors: dict, study: dict, ablation: dict):
    """Per (rung, paper sigma, NeFT instance): the ablation's split of the gain over W/ Noise (gain, temperature
    alone, passes/heads without feedback, the feedback term; ``neft.analysis.ablation``), paired per seed on the same
    chips, with two-level intervals (none with one seed)."""
    import pandas as pd

    out = []
    for rung in rungs(study):
        r = _rung_rows(chips, rung)
        for ps in map(format_sigma, study["paper_sigmas"]):
            g = r[r.paper_sigma == ps]
            if g.empty:
                continue
            spec = {
                "baseline": ablation["baseline"],
                "instances": {
                    i: c
                    for i, c in ablation["instances"].items()
                    if {i, ablation["baseline"], *c.values()} <= set(g.method)
                },
                "sigmas": [g["sigma_test"].iloc[0]],
            }
            d = decomposition(g, spec)
            if d.empty:
                continue
            one = d.seeds < 2
            d.loc[one, ["ci_low", "ci_high"]] = float("nan")
            d.insert(0, "paper_sigma", ps)
            for i, (col, value) in enumerate(
                (("width", rung.width_text), ("epochs", rung.epochs), ("factor", factors[rung.width_text]))
            ):
                d.insert(i, col, value)
            out.append(d)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def claims_table(chips, summary, convergence, factors: dict, study: dict, methods: dict, kinds: dict):
    """Per rung: each of the paper's claims judged on that rung's runs alone (``neft.analysis.claims``; the rung's
    factor puts its sigmas on the paper's scale), with its stability over seed resamples and, when undecided, the seeds
    that would decide it (``neft.analysis.stability``). A rung with one seed gets no verdict."""
    import pandas as pd

    rows = []
    for rung in rungs(study):
        factor = factors[rung.width_text]
        r_chips, r_sum = _rung_rows(chips, rung), _rung_rows(summary, rung)
        seeds = r_chips.seed.nunique()
        judged = []
        for metric, column in (("accuracy", "accuracy"), ("uncertainty", "ekl"), ("confidence", "confidence_correct")):
            ev = claims.SeedEvidence(r_chips, r_sum, kinds, methods, factor, column)
            j = claims.JUDGES[metric](ev)
            judged += list(zip((x.result() for x in j), stability.claim_stability(claims.JUDGES[metric], ev, j)))
        conv = convergence[
            (convergence.width.astype(float) == rung.width) & (convergence.epochs.astype(int) == rung.epochs)
        ]
        conv = conv[conv.method.isin(kinds)]
        if len(conv):
            summary_conv = (
                conv.groupby(["model", "dataset", "method", "sigma"], sort=False)
                .agg(runs=("seed", "size"), converged=("converged", "sum"))
                .reset_index()
                .assign(kind=lambda t: t.method.map(kinds))
            )
            judged.append(
                (claims.convergence_claim(summary_conv, factor), stability.convergence_stability(summary_conv, factor))
            )
        for (claim, verdict, evidence_text, test, n), st in judged:
            if verdict is not None and seeds < 2:
                verdict, evidence_text = None, NO_SEEDS
            rows.append(
                {
                    "width": rung.width_text,
                    "epochs": rung.epochs,
                    "factor": factor,
                    "claim": claim,
                    "verdict": verdict if verdict is not None else "–",
                    "evidence": evidence_text,
                    "test": test,
                    "n": n,
                    "stability": st.share if verdict is not None else float("nan"),
                    "resamples": st.resamples if verdict is not None else pd.NA,
                    "seeds_to_decide": st.seeds_to_decide if verdict is not None else pd.NA,
                }
            )
    out = pd.DataFrame(rows)
    for column in ("resamples", "seeds_to_decide"):
        if column in out:
            out[column] = out[column].astype("Int64")
    return out


def convergence_rows(runs: list[dict], last_epochs: list[dict], fraction: float, factors: dict):
    """One row per ladder training: its rung, method, paper sigma and seed, and whether it converged (the
    convergence study's criterion, ``neft.analysis.convergence``: last-epoch noisy validation accuracy at least
    ``fraction`` x the clean validation accuracy of the rung's W/O Noise model of the first seed)."""
    import pandas as pd

    frame = pd.DataFrame([r | {k: e[k] for k in ("noisy_acc", "clean_acc", "loss")} for r, e in zip(runs, last_epochs)])
    ref = frame[frame.reference]
    first = ref.sort_values("seed").groupby(["width", "epochs"], sort=False)["clean_acc"].first()
    threshold = [fraction * first[(w, e)] for w, e in zip(frame.width, frame.epochs)]
    frame["threshold"] = threshold
    frame["converged"] = (frame.noisy_acc >= frame.threshold) & frame.loss.notna()
    frame["sigma"] = ["0" if ps == "0" else rung_sigma(factors[w], ps) for w, ps in zip(frame.width, frame.paper_sigma)]
    return frame[~frame.reference].drop(columns="reference").reset_index(drop=True)


def _ci(mean, low, high, fmt: str = "{:.2f}", signed: bool = False) -> str:
    import pandas as pd

    if pd.isna(mean):
        return "–"
    f = fmt.replace("{:", "{:+") if signed else fmt
    text = f.format(mean)
    return text + (f" [{f.format(low)}, {f.format(high)}]" if pd.notna(low) and pd.notna(high) else "")


def _verdict_cell(r) -> str:
    """A verdict with how stable it is: "holds (27/27)", "undecided (14/27; ≈ 6 seeds would decide it)"."""
    import pandas as pd

    if r.verdict == "–" or pd.isna(r.stability) or pd.isna(r.resamples):
        return r.verdict
    text = f"{r.verdict} ({round(r.stability * r.resamples)}/{r.resamples}"
    if pd.notna(r.seeds_to_decide):
        text += f"; ≈ {r.seeds_to_decide} seeds would decide it"
    return text + ")"


def markdown(acc, decomp, verdicts, labels: dict, paragraph: str = "") -> str:
    """The ladder as Markdown: what it measured (``paragraph``), accuracy per rung and method, the gain's split
    per rung, and each claim's verdict per rung (one column per rung)."""
    import pandas as pd

    lines = ["# The scale ladder: do the findings survive longer and wider training?", ""]
    if paragraph:
        lines += [paragraph, ""]
    lines += [
        "## Accuracy per rung (%, mean over training seeds of the chip means [95 % t-interval over seeds])",
        "",
        "p1 / p5: the 1st / 5th percentile of all chips of all seeds; last doubling: what the step from half the "
        "epochs added, paired per seed on the same chips.",
        "",
    ]
    t = pd.DataFrame(
        {
            "rung (width, epochs)": [f"{w}, {e}" for w, e in zip(acc.width, acc.epochs)],
            "factor": [f"{f:g}" for f in acc.factor],
            "σ (paper σ)": [f"{s} ({p})" for s, p in zip(acc.sigma, acc.paper_sigma)],
            "method": acc.label,
            "accuracy": [_ci(m, lo, hi) for m, lo, hi in zip(acc["mean"], acc.ci95_low, acc.ci95_high)],
            "p1": [f"{v:.2f}" for v in acc.p1],
            "p5": [f"{v:.2f}" for v in acc.p5],
            "converged": [f"{c}/{n}" if pd.notna(n) else "–" for c, n in zip(acc.converged, acc.runs)],
            "last doubling (pp)": [
                _ci(g, lo, hi, signed=True) + (f" (from {int(f)})" if pd.notna(f) else "")
                for g, lo, hi, f in zip(acc.doubling_gain, acc.doubling_ci_low, acc.doubling_ci_high, acc.doubling_from)
            ],
            "expected KL (1e-2 nats)": [f"{v:.1f}" for v in acc["ekl_1e-2"]],
            "max-softmax, correct": [f"{v:.3f}" for v in acc.confidence_correct],
        }
    )
    lines += [markdown_table(t, right=("factor", "accuracy", "p1", "p5", "last doubling (pp)")), ""]
    if len(decomp):
        lines += ["## Where NeFT's gain over W/ Noise comes from, per rung (pp [95 % t-interval over seeds])", ""]
        d = pd.DataFrame(
            {
                "rung (width, epochs)": [f"{w}, {e}" for w, e in zip(decomp.width, decomp.epochs)],
                "σ (paper σ)": [f"{s} ({p})" for s, p in zip(decomp.sigma, decomp.paper_sigma)],
                "instance": [labels.get(i, i) for i in decomp.instance],
                "comparison": [COMPARISON_LABELS.get(c, c) for c in decomp.comparison],
                "difference": [
                    _ci(m, lo, hi, signed=True) for m, lo, hi in zip(decomp["diff"], decomp.ci_low, decomp.ci_high)
                ],
                "seeds x chips": [f"{s} x {c // max(s, 1)}" for s, c in zip(decomp.seeds, decomp.chips)],
            }
        )
        lines += [markdown_table(d, right=("difference",)), ""]
    if len(verdicts):
        lines += [
            "## Each claim's verdict per rung (ours, judged on that rung's runs alone)",
            "",
            "In brackets: the seed resamples (of the rung's training seeds, with replacement) that give the same "
            "verdict; for an undecided claim, the seeds its measured between-seed spread says would decide it.",
            "",
        ]
        order = list(dict.fromkeys(f"{w}, {e}" for w, e in zip(verdicts.width, verdicts.epochs)))
        v = verdicts.assign(
            rung=[f"{w}, {e}" for w, e in zip(verdicts.width, verdicts.epochs)],
            verdict=[_verdict_cell(r) for r in verdicts.itertuples(index=False)],
        )
        grid = v.pivot_table(index="claim", columns="rung", values="verdict", aggfunc="first", sort=False)
        grid = grid.reindex(columns=order).reset_index()
        grid.columns = ["claim", *[f"rung {c}" for c in order]]
        lines += [markdown_table(grid), ""]
    return "\n".join(lines)


# -- a recorded ladder (scale_study.recorded) ------------------------------------------------------------------------
RECORD_FILES = ("ladder.csv", "ladder_decomposition.csv", "ladder_claims.csv", "record.json")


def read_record(folder, shown: str | None = None) -> dict:
    """A recorded ladder's provenance (``record.json``), after checking every file of the record against its
    ``SHA256SUMS``: a missing, edited or corrupt file is named. ``shown``: the folder as the text names it."""
    import hashlib
    import json
    from pathlib import Path

    folder = Path(folder)
    sums = {}
    for line in read_text(folder / "SHA256SUMS", "recorded ladder").splitlines():
        digest, _, name = line.strip().partition("  ")
        if name:
            sums[name] = digest
    for name in RECORD_FILES:
        if name not in sums:
            raise ValueError(f"recorded ladder {folder}/SHA256SUMS: no digest for {name}")
        try:
            data = (folder / name).read_bytes()
        except OSError as err:
            raise ValueError(f"recorded ladder {folder / name}: {err.strerror or err}") from None
        if hashlib.sha256(data).hexdigest() != sums[name]:
            raise ValueError(
                f"recorded ladder {folder / name}: its bytes differ from SHA256SUMS (edited or damaged); restore it "
                "from the repository or record the ladder again (tools/record_ladder.py)"
            )
    record = json.loads(read_text(folder / "record.json", "recorded ladder"))
    missing = [k for k in ("command", "commit", "date", "machine", "scale") if k not in record]
    if missing:
        raise ValueError(f"recorded ladder {folder / 'record.json'}: missing {', '.join(missing)}")
    what = f"`{record['command']}` at commit {record['commit']}, {record['date']}, {record['machine']}"
    return record | {"folder": shown or str(folder), "what": what}
