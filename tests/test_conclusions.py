"""The conclusions are written from the tables: every number in the text is cited, and each citation recomputes."""

import re

import pandas as pd
import pytest

from neft.analysis import citing, conclusions
from neft.report.plotting import panel_title

METHODS = {
    "plain": {"kind": "plain", "label": "W/O Noise"},
    "noise_injection": {"kind": "noise_injection", "label": "W/ Noise"},
    "ovf": {"kind": "ovf", "label": "OVF"},
    "irs": {"kind": "irs", "label": "IRS"},
}
KEYS = {"model": "vgg8", "dataset": "mnist"}


def _tables():
    acc = pd.DataFrame(
        [
            {**KEYS, "device": "RRAM1", "method": m, "label": METHODS[m]["label"], "sigma": s, "mean": v}
            for m, s, v in [
                ("plain", "0", 97.1),
                ("noise_injection", "0", 96.3),
                ("ovf", "0", 96.9),
                ("plain", "0.07", 41.2),
                ("noise_injection", "0.07", 80.4),
                ("ovf", "0.07", 88.8),
                ("irs", "0.07", 86.1),
            ]
        ]
    )
    headline = pd.DataFrame(
        [
            {
                **KEYS,
                "instance": "ovf",
                "gain_vs_best_baseline": 8.4,
                "sigma_vs_best_baseline": "0.07",
                "best_baseline_method": "noise_injection",
                "gain_vs_best_baseline_ci_low": 6.1,
                "gain_vs_best_baseline_ci_high": 10.7,
                "gain_vs_best_baseline_seeds": 3,
                "gain_vs_best_baseline_chips_per_seed": 30,
                "gain_vs_noise_injection": 8.4,
                "sigma_vs_noise_injection": "0.07",
                "gain_vs_noise_injection_ci_low": 6.1,
                "gain_vs_noise_injection_ci_high": 10.7,
            }
        ]
    )
    claims = pd.DataFrame(
        [
            (
                "accuracy",
                "OVF beats W/ Noise at the largest σ of every panel",
                "holds",
                "holds",
                "1/1 panels hold (+8.40 [+6.10, +10.70])",
                "3 seeds x 30 chips",
            ),
            (
                "uncertainty",
                "OVF has lower expected KL than W/ Noise",
                "holds",
                "undecided",
                "0/1 hold (-1.20 [-3.00, +0.60])",
                "3 seeds, one value per seed's sweep",
            ),
            (
                "other",
                "NeFT converges more often",
                "claimed, no numbers",
                "not evaluable",
                "no matching points",
                float("nan"),
            ),
        ],
        columns=["metric", "claim", "paper", "ours", "our_evidence", "our_n"],
    ).assign(
        our_stability=[1.0, 0.888889, float("nan")],
        our_seeds_to_decide=pd.array([None, 7, None], dtype="Int64"),
        our_resamples=pd.array([27, 27, None], dtype="Int64"),
    )
    ablation = pd.DataFrame(
        [
            {
                **KEYS,
                "instance": "ovf",
                "sigma": "0.07",
                "comparison": c,
                "diff": d,
                "ci_low": lo,
                "ci_high": hi,
                "share_of_gain": sh,
            }
            for c, d, lo, hi, sh in [
                ("gain", 8.4, 6.1, 10.7, float("nan")),
                ("temp", 5.2, 3.9, 6.5, 0.62),
                ("structure", 1.1, -0.4, 2.6, 0.13),
                ("feedback", 2.1, 0.3, 3.9, 0.25),
            ]
        ]
    )
    variance = pd.DataFrame(
        [
            {**KEYS, "method": m, "label": METHODS[m]["label"], "sigma": s, "sd_between_seeds": b, "sd_within_seed": w}
            for m, s, b, w in [
                ("noise_injection", "0.07", 1.9, 3.3),
                ("ovf", "0.07", float("nan"), 2.2),
                ("ovf", "0", 0.0, 0.0),
            ]
        ]
    )
    convergence = pd.DataFrame(
        [
            {**KEYS, "method": "ovf", "sigma": "0.14", "runs": 3, "converged": 0},
            {**KEYS, "method": "noise_injection", "sigma": "0.14", "runs": 3, "converged": 2},
        ]
    )
    devices = pd.DataFrame(
        [
            {**KEYS, "sigma": "0.07", "method": m, "label": METHODS[m]["label"], "device": d, "mean": v}
            for m, d, v in [
                ("noise_injection", "RRAM1", 80.4),
                ("noise_injection", "FeFET3", 71.7),
                ("ovf", "RRAM1", 88.8),
                ("ovf", "FeFET3", 84.0),
            ]
        ]
    )
    points = pd.DataFrame(
        {
            "diff": [-3.5, 1.5, float("nan")],
            "paper_in_ci": ["no", "yes", ""],
            "status": ["compared", "compared", "not run"],
        }
    )
    return {
        "claims": claims,
        "headline": headline,
        "accuracy": acc,
        "ablation": ablation,
        "variance": variance,
        "convergence": convergence,
        "devices": devices,
        "points": points,
    }


def _recompute(table: pd.DataFrame, source: citing.Source):
    rows = list(source.rows)
    if source.operation == "panel":
        r = table.iloc[rows[0]]
        return panel_title(r["model"], r["dataset"])
    if source.operation in ("wilson_low", "wilson_high", "share_count"):  # several columns of one row
        cells = pd.Series([table.iloc[rows[0]][c] for c in source.column.split("/")])
    else:
        cells = table.iloc[rows][source.column]
    return source.fmt.format(citing.OPERATIONS[source.operation](cells))


def test_every_number_in_the_conclusions_is_cited_and_recomputes_from_its_table():
    tables = _tables()
    summary = conclusions.build(tables, METHODS, "mini", 0.35, epochs=2)
    text = summary.markdown()
    assert [q for q, _ in summary.evidence] == [
        "Does NeFT beat the baselines?",
        "How much of the gain is the temperature, how much the feedback?",
        "Uncertainty and confidence.",
        "Convergence.",
        "Device types.",
        "How far is this from the paper?",
    ]
    assert [label for label, _ in summary.brief] == [
        "Read this first.",
        "Does NeFT beat the baselines?",
        "Where does the gain come from?",
        "Uncertainty and confidence.",
        "Convergence.",
        "Device types.",
        "How far is this from the paper?",
    ]
    for source in summary.sources:
        assert _recompute(tables[source.table], source) == source.text, source
        assert source.text in text
    # no number is typed by hand: with every cited text removed, only names and the stated conventions keep digits
    # (names, the CI level, the config's sigma_scale and training epochs)
    rest = re.sub(r"VGG-8|MNIST|95 %|0\.35 x|only 2 epochs", "", text)
    for source in sorted(summary.sources, key=lambda s: -len(s.text)):
        rest = rest.replace(source.text, "")
    assert re.findall(r"\d", rest) == []
    assert "0.35 x the paper's" in text


def test_the_conclusions_say_what_the_numbers_say():
    text = conclusions.build(_tables(), METHODS, "mini", 0.35).markdown()
    assert "OVF's largest gain over the best baseline is +8.40 pp [+6.10, +10.70] at σ = 0.07 (over W/ Noise)" in text
    assert "3 training seeds x 30 chips per seed" in text
    assert "highest mean accuracy at 1 of 2 σ points" in text  # at sigma 0 W/O Noise is best
    assert "the feedback term +2.10 pp [+0.30, +3.90] (above 0, 25% of the gain)" in text
    assert "the passes/heads without feedback +1.10 pp [-0.40, +2.60] (not distinguishable from 0" in text
    assert "OVF 0/3 at σ = 0.14 [0 %, 56 %]" in text  # Wilson at 0 of 3
    assert "W/ Noise 71.70 % (FeFET3) to 80.40 % (RRAM1)" in text
    assert "OVF at σ = 0.07: no between-seed std (one training seed)" in text
    assert "2 of the paper's 3 plotted points were run" in text and "mean |ours − paper| is 2.50 pp" in text
    assert "ours: holds 1, undecided 1, not evaluable 1" in text
    assert (
        "ours **holds** (1/1 panels hold (+8.40 [+6.10, +10.70]); n = 3 seeds x 30 chips; stable in 100% of 27 " in text
    )
    assert "; stable in 89% of 27 seed resamples; about 7 seeds would decide it)" in text
    assert "ours **not evaluable** (no matching points); on the paper's own numbers" in text  # no stability to give


def test_claim_stability_reads_back_from_the_csv_and_says_when_there_is_one_seed(tmp_path):
    from neft.analysis import scorecard as sc
    from neft.analysis.results import write_csv

    from .test_claims import PANELS, paired_evidence

    rows = []
    for diffs in ([10.0, 10.3, 9.8], [1.0, 2.0, 6.0], [10.0]):
        out = sc.claims_table({"accuracy": paired_evidence({PANELS[0]: diffs})}, {})
        rows.append(out[out.claim == "OVF beats W/ Noise at the largest σ of every panel"])
    path = tmp_path / "scorecard_claims.csv"
    write_csv(pd.concat(rows, ignore_index=True), path)
    claims = conclusions.read_tables({"claims": path})["claims"]
    assert str(claims["our_seeds_to_decide"].dtype) == "Int64" and str(claims["our_resamples"].dtype) == "Int64"
    assert claims["our_stability"].dtype == "float64" and claims["our_n"].tolist()[2] == "1 seed x 10 chips"
    summary = conclusions.build({"claims": claims}, METHODS, "mini", 0.35)
    for source in summary.sources:
        assert _recompute(claims, source) == source.text, source
    text = summary.markdown()
    assert "n = 3 seeds x 10 chips; stable in 100% of 27 seed resamples)" in text
    assert "stable in 78% of 27 seed resamples; about 6 seeds would decide it)" in text
    assert "n = 1 seed x 10 chips; one training seed: no resamples to judge its stability)" in text


def test_the_conclusions_need_the_claims_and_tolerate_absent_studies():
    tables = _tables()
    for name in ("ablation", "convergence", "devices", "headline"):
        del tables[name]
    text = conclusions.build(tables, METHODS, "paper", 1.0).markdown()
    assert "The ablation did not run" in text and "The device study did not run" in text
    assert "This is the" not in text  # the paper scale has no scale caveat
    with pytest.raises(ValueError, match="scorecard_claims.csv"):
        conclusions.build({"accuracy": tables["accuracy"]}, METHODS, "mini", 0.35)


def _ladder_tables(tmp_path, seeds=(0, 1, 2)):
    """The tables of a constructed ladder (tests/test_ladder.py), through their CSVs as summarize reads them."""
    from neft.analysis import ladder
    from neft.analysis.results import write_csv

    from .test_ladder import ABLATION, KINDS, LABELS, constructed, study
    from .test_ladder import METHODS as LADDER_METHODS

    chips, sums, conv, factors = constructed(seeds=seeds)
    s = study(seeds=seeds)
    built = {
        "ladder": ladder.accuracy_table(chips, sums, conv, factors, s, LABELS),
        "ladder_decomposition": ladder.decomposition_table(chips, factors, s, ABLATION),
        "ladder_claims": ladder.claims_table(chips, sums, conv, factors, s, LADDER_METHODS, KINDS),
    }
    paths = {}
    for name, table in built.items():
        paths[name] = tmp_path / f"{name}.csv"
        write_csv(table, paths[name])
    return conclusions.read_tables(paths)


def test_the_ladder_paragraph_comes_first_and_names_each_rung_s_verdicts_from_the_table(tmp_path):
    tables = _tables() | _ladder_tables(tmp_path)
    summary = conclusions.build(tables, METHODS, "mini", 0.35)
    question, items = summary.evidence[0]
    text = " ".join(items)
    assert question == "What the scale ladder measured."
    for source in summary.sources:
        assert _recompute(tables[source.table], source) == source.text, source
    claims = tables["ladder_claims"]
    for claim, g in claims.groupby("claim", sort=False):
        verdicts = g["verdict"].tolist()
        if set(verdicts) == {"–"}:
            assert claim not in text
        elif len(set(verdicts)) == 1:
            assert f"“{claim}” ({verdicts[0]} at every rung; stable in " in text
        else:
            assert f"“{claim}”: {verdicts[0]} at 2 epochs, {verdicts[1]} at 4 epochs" in text
    assert "“OVF beats W/ Noise at the largest σ of every panel”: holds at 2 epochs, does not hold at 4 epochs" in text
    acc = tables["ladder"].set_index(["method", "epochs"])
    assert f"accuracy (%): W/ Noise {acc.loc[('noise_injection', 2), 'mean']:.2f} [" in text
    assert f"(2 epochs) → {acc.loc[('noise_injection', 4), 'mean']:.2f} [" in text
    assert "factor 0.33 at width 0.0625 x the paper's σ" in text and "(ours 0.132)" in text
    assert "The last doubling (2 → 4 epochs) still added W/ Noise +" in text
    p1 = acc.loc[("noise_injection", 2), "p1"], acc.loc[("noise_injection", 4), "p1"]
    assert f"The 1st percentile of chips (%, the worst case): W/ Noise {p1[0]:.2f} (2 epochs) → {p1[1]:.2f} (4" in text
    assert "Runs that converged: W/ Noise 0/3 (2 epochs) → 3/3 (4 epochs)" in text
    rest = summary.markdown()
    assert "orderings and verdicts are" not in rest  # the untested sentence is gone
    assert "How its findings move with longer training is what the scale ladder above measured." in rest


def test_the_ladder_paragraph_with_one_seed_gives_no_interval_and_no_verdict(tmp_path):
    tables = _tables() | _ladder_tables(tmp_path, seeds=(0,))
    text = " ".join(conclusions.build(tables, METHODS, "mini", 0.35).evidence[0][1])
    assert "[" not in text and "Verdicts" not in text
    assert "W/ Noise" in text and "holds" not in text


def test_without_a_ladder_the_summary_claims_nothing_about_orderings():
    text = conclusions.build(_tables(), METHODS, "mini", 0.35).markdown()
    assert "What the scale ladder measured" not in text
    assert "orderings and verdicts are" not in text and "scale ladder (" not in text
    assert (
        "No scale ladder ran or was recorded, so how these findings move with longer training is not measured." in text
    )


def test_a_recorded_ladder_is_checked_and_named_as_not_this_run(tmp_path):
    import subprocess
    import sys

    from neft.analysis import ladder

    from .conftest import REPO

    run = tmp_path / "run"
    (run / "tables").mkdir(parents=True)
    for name, table in _ladder_tables(tmp_path).items():
        table.to_csv(run / "tables" / citing.TABLES[name], index=False)
    (run / "tables/ladder.md").write_text("# ladder\n")
    record = tmp_path / "record"
    cmd = [sys.executable, str(REPO / "tools/record_ladder.py"), str(record), "--results", str(run)]
    cmd += ["--command", "snakemake scale_study", "--commit", "abc1234", "--wall", "1 min"]
    subprocess.run(cmd, check=True, capture_output=True)
    rec = ladder.read_record(record, shown="resources/ladder/x")
    tables = _tables() | conclusions.read_tables({n: record / citing.TABLES[n] for n in citing.LADDER_TABLES})
    summary = conclusions.build(tables, METHODS, "mini", 0.35, rec)
    question, items = summary.evidence[0]
    text = " ".join(items)
    assert question == "What the scale ladder measured (a recorded run, not this one)."
    assert text.startswith("These numbers come from the ladder recorded in resources/ladder/x (`snakemake scale_study`")
    assert "at commit abc1234" in text
    files = set(summary.sources_frame().table)
    assert "resources/ladder/x/ladder.csv" in files and "ladder.csv" not in files
    (record / "ladder_claims.csv").write_text((record / "ladder_claims.csv").read_text().replace("holds", "fails"))
    with pytest.raises(ValueError, match=r"ladder_claims.csv: its bytes differ from SHA256SUMS"):
        ladder.read_record(record)
    (record / "ladder.csv").unlink()
    with pytest.raises(ValueError, match=r"record/ladder.csv"):
        ladder.read_record(record)


def test_the_ladder_paragraph_labels_methods_from_the_ladder_table(tmp_path):
    """A run without OVF among its methods still names the recorded ladder's OVF by its label."""
    methods = {m: spec for m, spec in METHODS.items() if m != "ovf"}
    text = " ".join(conclusions.build(_tables() | _ladder_tables(tmp_path), methods, "mini", 0.35).evidence[0][1])
    assert "ovf's" not in text and "OVF's gain over W/ Noise" in text


def test_the_convergence_claim_s_stability_is_over_runs_not_seeds():
    tables = _tables()
    c = tables["claims"].copy()
    c["our_stability"], c["our_resamples"], c["our_seeds_to_decide"] = 1.0, 27, pd.NA
    c.loc[0, "metric"], c.loc[0, "ours"], c.loc[0, "our_stability"], c.loc[0, "our_resamples"] = (
        "other",
        "undecided",
        0.688,
        1000,
    )
    text = conclusions.build(tables | {"claims": c}, METHODS, "mini", 0.35).markdown()
    assert "stable in 69% of 1000 resamples of each method's runs" in text and "of 27 seed resamples" in text


# -- the structure: the verdict table first, a short text, the evidence last -----------------------------------------
INTERVAL = re.compile(r"\[[+-]?\d[\d.]*( %)?, [+-]?\d[\d.]*( %)?\]")


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z“0-9])", text) if s]


def _recorded_mini_ladder():
    """The recorded ladder the default run cites (resources/ladder/mini-cpu), checked and read as summarize does."""
    from neft.analysis import ladder

    from .conftest import REPO

    folder = REPO / "resources/ladder/mini-cpu"
    rec = ladder.read_record(folder, shown="resources/ladder/mini-cpu")
    return rec, conclusions.read_tables({n: folder / citing.TABLES[n] for n in citing.LADDER_TABLES})


def test_the_summary_opens_with_the_verdict_table_one_row_per_claim(tmp_path):
    from neft.analysis import scorecard

    tables = _tables() | _ladder_tables(tmp_path)
    summary = conclusions.build(tables, METHODS, "mini", 0.35, epochs=2)
    md = summary.markdown()
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads == [f"## {citing.VERDICTS}", f"## {citing.BRIEF}", f"## {citing.EVIDENCE}"]
    parts = citing.sections(md)
    assert list(parts) == ["title", citing.VERDICTS, citing.BRIEF, citing.EVIDENCE]
    table = [line for line in parts[citing.VERDICTS].splitlines() if line.startswith("|")]
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert header == list(citing.VERDICT_COLUMNS)
    claims = tables["claims"]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table[2:]]
    assert [r[0] for r in rows] == claims["claim"].tolist()  # one row per claim, in the claims table's order
    assert [r[1] for r in rows] == claims["paper"].tolist() and [r[2] for r in rows] == claims["ours"].tolist()
    assert [r[3] for r in rows] == [n if isinstance(n, str) else "–" for n in claims["our_n"]]
    # the stability reads as the scorecard writes it
    assert [r[4] for r in rows] == [scorecard.stability_text(r) for r in claims.itertuples()]
    assert rows[1][4] == "24/27 resamples (89%); ≈ 7 seeds would decide it"
    # the first prose comes after the table, and the first line of the text is the scale caveat
    assert md.index("| Claim |") < md.index("**Read this first.**") < md.index("### Does NeFT beat")


def test_the_short_text_carries_few_intervals_and_the_evidence_keeps_every_number(tmp_path):
    rec, ladder_tables = _recorded_mini_ladder()
    tables = _tables() | ladder_tables
    summary = conclusions.build(tables, METHODS, "mini", 0.35, rec, epochs=2)
    for label, text in summary.brief:
        assert len(INTERVAL.findall(text)) <= 2, (label, text)  # at most two a paragraph ...
        for sentence in _sentences(text):
            assert len(INTERVAL.findall(sentence)) <= 1, sentence  # ... and one a sentence
            assert len(sentence) <= 400, sentence
    brief = " ".join(text for _, text in summary.brief)
    assert len(INTERVAL.findall(brief)) == 1  # only the headline gain's
    assert "OVF's largest gain over W/ Noise is +8.40 pp [+6.10, +10.70], at σ = 0.07" in brief
    evidence = citing.sections(summary.markdown())[citing.EVIDENCE]
    # what the old one-paragraph-per-question text said is all still there, under Evidence
    for old in (
        "OVF's largest gain over the best baseline is +8.40 pp [+6.10, +10.70] at σ = 0.07 (over W/ Noise)",
        "the feedback term +2.10 pp [+0.30, +3.90] (above 0, 25% of the gain)",
        "OVF 0/3 at σ = 0.14 [0 %, 56 %]",
        "W/ Noise 71.70 % (FeFET3) to 80.40 % (RRAM1)",
        "stable in 89% of 27 seed resamples; about 7 seeds would decide it",
        "OVF's gain over W/ Noise +33.15 [+26.85, +39.45] (2 epochs) → +25.06 [+17.77, +32.35] (4 epochs) → "
        "+10.99 [+2.72, +19.27] (8 epochs)",
        "The last doubling (4 → 8 epochs) still added W/ Noise +20.58 [+19.34, +21.83]",
    ):
        assert old in evidence, old
    assert "### What the scale ladder measured (a recorded run, not this one)." in evidence
    assert len(INTERVAL.findall(evidence)) > 30


def test_the_short_text_opens_with_the_training_length_and_what_the_ladder_says_about_it():
    rec, ladder_tables = _recorded_mini_ladder()
    summary = conclusions.build(_tables() | ladder_tables, METHODS, "mini", 0.35, rec, epochs=2)
    label, text = summary.brief[0]
    assert label == "Read this first."
    sentences = _sentences(text)
    assert "Each model trained for only 2 epochs." in sentences
    dec, acc = ladder_tables["ladder_decomposition"], ladder_tables["ladder"]
    gain = dec[(dec.instance == "ovf") & (dec.comparison == "gain")].sort_values("epochs")["diff"]
    assert gain.iloc[-1] < gain.iloc[0]  # the recorded ladder: the gain shrinks with training ...
    expected = f"shrinks OVF's gain over W/ Noise from {gain.iloc[0]:+.0f} pp (2 epochs) to {gain.iloc[-1]:+.0f} pp (8"
    assert expected in text and "resources/ladder/mini-cpu" in text
    p1 = acc.set_index(["method", "epochs"])["p1"]
    assert p1["ovf", 2] > p1["noise_injection", 2] and p1["ovf", 8] < p1["noise_injection", 8]  # ... and the tail flips
    assert (
        f"It also reverses the worst case: at 8 epochs W/ Noise's worst chips (1st percentile) beat OVF's, "
        f"{p1['noise_injection', 8]:.2f} % against {p1['ovf', 8]:.2f} %; at 2 epochs OVF's were the better ones."
    ) in text
    assert all(len(INTERVAL.findall(s)) == 0 for s in sentences)


def test_the_rst_front_page_has_the_same_parts_and_parses_cleanly(tmp_path):
    import docutils.core

    rec, ladder_tables = _recorded_mini_ladder()
    summary = conclusions.build(_tables() | ladder_tables, METHODS, "mini", 0.35, rec, epochs=2)
    rst = summary.rst()
    doctree = docutils.core.publish_doctree(rst, settings_overrides={"halt_level": 2, "report_level": 2})
    titles = [n.astext() for n in doctree.findall(lambda n: n.tagname == "title")]
    assert titles[:4] == [summary.title, citing.VERDICTS, citing.BRIEF, citing.EVIDENCE]
    (table,) = list(doctree.findall(lambda n: n.tagname == "table"))
    assert len(list(table.findall(lambda n: n.tagname == "row"))) == 1 + len(summary.verdicts)
    for label, text in summary.brief:
        assert f"**{label}** {citing._rst_escape(text)}" in rst
