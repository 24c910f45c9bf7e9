"""Workflow tier: lint, formatting, the paper preset's DAG, and the test scale run end to end."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pandas as pd
import pytest

from .conftest import REPO, snakemake

pytestmark = pytest.mark.workflow
TEST_PRESET = str(REPO / "config/presets/test.yaml")
PAPER_PRESET = str(REPO / "config/presets/paper.yaml")


def job_counts(dry_run_output: str) -> dict[str, int]:
    table = dry_run_output.split("Job stats:")[1]
    counts = {}
    for line in table.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m[1]] = int(m[2])
    return counts


#: Lints this workflow answers on purpose, with the reason (docs/running.md, "The environment"): there is no conda
#: environment, because conda's channels cannot be reached from the machines the workflow is tested on, so a conda
#: route would be untested; the pip lock (requirements/lock.txt) is the one tested environment.
ACCEPTED_LINTS = {"Specify a conda environment or container for each rule."}


def test_lint_is_clean():
    proc = snakemake("--lint", "-n", check=False)
    out = proc.stdout + proc.stderr
    lints = {line.strip()[2:].rstrip(":") for line in out.splitlines() if line.startswith("    * ")}
    assert proc.returncode == 0 or (lints and lints <= ACCEPTED_LINTS), out
    assert "Traceback" not in out, out


def test_snakefmt_is_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow/rules"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_paper_preset_dry_run_has_the_expected_jobs(tmp_path):
    out = snakemake("reproduce_all", "-n", "--configfile", PAPER_PRESET, cwd=tmp_path).stdout
    counts = job_counts(out)
    trainings = [
        dict(kv.split("=") for kv in m.split(", "))
        for m in re.findall(r"rule train:\n(?:    .*\n)*?    wildcards: (.*)\n", out)
    ]
    assert len(trainings) == counts["train"]
    grid = [t for t in trainings if t["device"] == "RRAM1" and t["seed"] == "0"]
    # 6 pairs x 43: W/O Noise once; W/ Noise, CorrectNet and aihwkit-lightning's W/ Noise at the 8 non-zero sigmas;
    # OVF and IRS at all 9
    assert len(grid) == 258
    per_pair = {}
    for t in grid:
        per_pair.setdefault((t["model"], t["dataset"]), []).append(t["method"])
    assert len(per_pair) == 6
    for methods in per_pair.values():
        assert {m: methods.count(m) for m in set(methods)} == {
            "plain": 1,
            "noise_injection": 8,
            "correctnet": 8,
            "ovf": 9,
            "irs": 9,
            "aihwkit_hwa": 8,
        }
    # device study: three more cards x the four noise-aware methods (W/O Noise is shared); convergence: two more
    # seeds x four methods at one sigma
    assert sum(t["device"] != "RRAM1" for t in trainings) == 6 * 3 * 4
    assert sum(t["seed"] != "0" for t in trainings) == 6 * 2 * 4
    assert counts["train"] == 258 + 72 + 48
    assert counts["fit_device"] == 4  # the shipped measured devices are fitted first
    # W/O Noise tested over the whole grid (9), every other grid run at its training sigma (42), per pair; the
    # device study's 15 sweeps per pair (W/O Noise on 3 more cards, 4 methods x 3 cards)
    assert counts["evaluate_mc"] == 6 * (9 + 42) + 6 * 15
    assert counts["prepare_dataset"] == 4 and counts["device_card"] == 4  # the device study uses all presets
    assert counts["plot_accuracy"] == counts["tabulate_accuracy"] == 1
    assert "plot_ablation" not in counts  # the ablation is not part of the paper's grid


@pytest.mark.parametrize(
    "bad,message",
    [
        ("mc: {chips: -3}\n", "mc.chips: -3 is out of range"),
        ("experiments: {methods: [plain, ovf9]}\n", "experiments.methods[1]: 'ovf9' is not defined under methods"),
    ],
)
def test_invalid_config_stops_before_any_job(tmp_path, bad, message):
    (tmp_path / "bad.yaml").write_text(bad)
    proc = snakemake("--cores", "1", "--configfile", TEST_PRESET, str(tmp_path / "bad.yaml"), cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    """The test scale run end to end into a temporary directory."""
    work = tmp_path_factory.mktemp("e2e")
    snakemake("reproduce_all", "--cores", "2", "--configfile", TEST_PRESET, cwd=work)
    return work


FIGURES = ["accuracy", "uncertainty", "confidence", "ablation", "convergence", "devices", "scorecard", "device_fit"]
FIGURES += ["worst_chips", "nonidealities", "drift"]
TABLES = ["accuracy", "uncertainty", "confidence", "ablation", "devices", "nonidealities", "drift"]


def test_every_figure_and_table_is_built_from_computed_data(e2e):
    expected = [f"results/figures/{f}.{ext}" for f in FIGURES for ext in ("pdf", "png")]
    expected += [f"results/tables/{t}.{ext}" for t in TABLES for ext in ("csv", "md", "tex")]
    expected += [
        "results/figures/accuracy_panels/vgg8/mnist.pdf",
        "results/tables/convergence.csv",
        "results/tables/convergence.md",
        "results/tables/headline.csv",
        "results/tables/scorecard.md",
        "results/tables/scorecard_points.csv",
        "results/tables/scorecard_claims.csv",
        "results/tables/ablation_beta_sweep.csv",
        "results/tables/worst_chips.csv",
        "results/tables/worst_chips.md",
        "reports/neft_report.html",
        "results/devices/RRAM_Wan2022_1s/card.yaml",
        "results/devices/FeFET6/card.yaml",
    ]
    for f in expected:
        assert (e2e / f).stat().st_size > 0, f
    acc = pd.read_csv(e2e / "results/tables/accuracy.csv")
    assert list(dict.fromkeys(acc["method"])) == ["plain", "noise_injection", "correctnet", "ovf", "irs", "aihwkit_hwa"]
    assert acc["mean"].between(0, 100).all() and (acc["chips"] == 3).all()
    assert acc[(acc.method == "plain") & (acc.sigma == 0)]["mean"].item() > 50  # the model did learn
    chips = pd.read_csv(e2e / "results/tables/mc_chips.csv")
    # every method's checkpoint, ablation variants included, went through the same Monte-Carlo path
    assert set(chips["method"]) == {
        "plain",
        "noise_injection",
        "correctnet",
        "ovf",
        "irs",
        "ni_temperature",
        "ovf_beta0",
        "irs_beta0",
        "ovf_beta0.01",
        "aihwkit_hwa",
    }
    ablation = pd.read_csv(e2e / "results/tables/ablation.csv")
    assert set(ablation["comparison"]) == {"gain", "temp", "structure", "feedback"}
    assert set(ablation["instance"]) == {"ovf", "irs"}
    assert list(chips.columns) == [
        "model",
        "dataset",
        "method",
        "device",
        "sigma_train",
        "seed",
        "sigma_test",
        "chip",
        "correct",
        "n",
        "accuracy",
        "confidence",
        "confidence_correct",
    ]
    # the table's means are the means of the chip rows (no number from anywhere else)
    row = acc[(acc.method == "plain") & (acc.sigma == 0.1) & (acc.device == "RRAM1")].iloc[0]
    sel = chips[(chips.method == "plain") & (chips.sigma_test == 0.1) & (chips.device == "RRAM1")]
    assert row["mean"] == pytest.approx(sel["accuracy"].mean(), abs=1e-4)
    log = pd.read_csv(next((e2e / "results/models").rglob("train_log.csv")))
    assert {"loss", "clean_acc", "noisy_acc"} <= set(log.columns)


def test_nonideal_studies_reuse_the_main_sweeps_chips_and_checkpoints(e2e):
    """Every study sweep is a main-grid checkpoint on the main sweep's chips with one non-ideality on: the table's
    'off' level is the main sweep, its means are the chip rows' means, drift's first time is the training sigma."""
    from neft.core.devices import DeviceCard

    for name, studies in (
        ("nonidealities", {"read_noise", "dac_bits", "adc_bits", "stuck_fraction"}),
        ("drift", {"drift"}),
    ):
        table = pd.read_csv(e2e / f"results/tables/{name}.csv", dtype={"level": str, "sigma": str})
        chips = pd.read_csv(
            e2e / f"results/tables/{'nonideal' if name == 'nonidealities' else name}_chips.csv", dtype={"level": str}
        )
        assert set(table.study) == studies and set(table.method) == {"noise_injection", "ovf"}
        assert (table.chips == 3).all() and set(table.advantage) <= {
            "holds",
            "does not hold",
            "undecided",
            "(the baseline)",
        }
        main = pd.read_csv(e2e / "results/tables/mc_chips.csv")
        for r in table.itertuples():
            if r.level == "off":
                ref = main[(main.method == r.method) & (main.sigma_test == 0.1) & (main.device == "RRAM1")]
            else:
                ref = chips[(chips.method == r.method) & (chips.study == r.study) & (chips.level == r.level)]
            assert r.mean == pytest.approx(ref["accuracy"].mean(), abs=1e-4), (r.study, r.level, r.method)
        ovf = table[table.method == "ovf"]
        assert ovf["diff"].notna().all()  # each level paired with W/ Noise on the same chips
    drift = pd.read_csv(e2e / "results/tables/drift_chips.csv", dtype={"level": str, "sigma_test": str})
    assert set(drift.level) == {"RRAM_Wan2022_1s", "RRAM_Wan2022_1d", "RRAM_Wan2022_2d"}
    assert set(drift[drift.level == "RRAM_Wan2022_1s"].sigma_test) == {"0.1"}  # the first time: what it trained for
    cards = {
        t: DeviceCard.load(e2e / f"results/devices/RRAM_Wan2022_{t}/card.yaml").extra["measured_sigma"]
        for t in ("1s", "1d")
    }
    grown = float(drift[drift.level == "RRAM_Wan2022_1d"].sigma_test.iloc[0])
    assert grown == pytest.approx(0.1 * cards["1d"] / cards["1s"], abs=1e-4)
    worst = pd.read_csv(e2e / "results/tables/worst_chips.csv")
    for r in worst.itertuples():
        sel = main[(main.method == r.source_method) & (main.sigma_test == r.sigma) & (main.device == r.device)]
        sel = sel[sel.sigma_train == float(r.sigma_train)]
        assert r.worst == pytest.approx(sel.accuracy.min(), abs=1e-4) and r.worst <= r.p1 <= r.mean
        hit = sel[(sel.seed == r.worst_seed) & (sel.chip == r.worst_chip)]
        assert hit.accuracy.item() == pytest.approx(r.worst, abs=1e-4)  # the named chip is the worst one


def test_zero_read_noise_and_zero_stuck_fraction_give_the_main_sweeps_bytes(e2e):
    """A study sweep at level 0 goes through the study's rule and card, and its chip columns are the main sweep's,
    byte for byte (the card with nothing on takes today's code path)."""
    for method in ("noise_injection", "ovf"):
        run = f"vgg8/mnist/{method}/RRAM1/sigma~0.1/seed~0/test~0.1"
        main = (e2e / f"results/mc/{run}.csv").read_text().splitlines()
        for level in ("read_noise~0", "stuck_fraction~0"):
            study = (e2e / f"results/nonideal/{run}/{level}.csv").read_text().splitlines()
            assert len(study) == len(main) == 4
            assert [line.split(",")[-6:] for line in study] == [line.split(",")[-6:] for line in main], level
            moved = e2e / f"results/nonideal/{run}/{level.replace('~0', '~0.05' if 'read' in level else '~0.02')}.csv"
            assert moved.read_text().splitlines()[1:] != study[1:]  # a nonzero level does change the chips


def test_the_worst_case_probe_is_one_job_per_method_from_its_main_sweep(tmp_path):
    probe = tmp_path / "probe.yaml"
    probe.write_text("worst_case_probe: {enabled: true, methods: [noise_injection, ovf], sigma: 0.1, steps: 5}\n")
    out = snakemake("table_worst_case_probe", "-n", "--configfile", TEST_PRESET, str(probe), cwd=tmp_path).stdout
    counts = job_counts(out)
    assert counts["probe_worst_case"] == 2 and counts["tabulate_probe"] == 1
    assert counts["evaluate_mc"] == 2  # each probe starts from its own main sweep's worst chip, nothing else
    bad = tmp_path / "bad.yaml"
    bad.write_text("worst_case_probe: {enabled: true, methods: [nope], sigma: 0.3}\n")
    proc = snakemake("table_worst_case_probe", "-n", "--configfile", TEST_PRESET, str(bad), cwd=tmp_path, check=False)
    said = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "worst_case_probe.methods[0]" in said and "worst_case_probe.sigma" in said


def test_second_run_has_nothing_to_do(e2e):
    proc = snakemake("reproduce_all", "-n", "--configfile", TEST_PRESET, cwd=e2e)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_a_touched_prepared_dataset_reruns_nothing(e2e):
    """The profile's max-checksum-file-size covers the prepared dataset (megabytes, over Snakemake's 1 MB default):
    a file rewritten with the same bytes is compared by checksum, not by its time, so nothing reruns."""
    prepared = e2e / "results/data/mnist/prepared.pt"
    assert prepared.stat().st_size > 1_000_000  # else this test would pass without the setting
    stat = prepared.stat()
    os.utime(prepared, (stat.st_atime + 60, stat.st_mtime + 60))
    try:
        proc = snakemake("reproduce_all", "-n", "--configfile", TEST_PRESET, cwd=e2e)
        assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-3000:]
    finally:
        os.utime(prepared, (stat.st_atime, stat.st_mtime))


def test_deleting_one_figure_rebuilds_only_that_figure(e2e):
    """Only the figure's own rule reruns (and the HTML report that shows it): no training, no Monte-Carlo."""
    (e2e / "results/figures/accuracy.png").unlink()
    counts = job_counts(snakemake("reproduce_all", "-n", "--configfile", TEST_PRESET, cwd=e2e).stdout)
    assert counts == {"plot_accuracy": 1, "render_report": 1, "reproduce_all": 1, "total": 3}
    snakemake("figure_accuracy", "--cores", "1", "--configfile", TEST_PRESET, cwd=e2e)
    assert (e2e / "results/figures/accuracy.png").exists()


@pytest.mark.parametrize("cores,warm", [("1", True), ("2", False)])
def test_mc_csvs_are_byte_identical_across_runs_and_cores(e2e, tmp_path, cores, warm):
    """The same config in a fresh directory, with --cores 1 or 2, and with jobs started cold instead of from the
    warm server (compute.warm_start), gives the same bytes in every MC CSV and table (a smaller target than
    reproduce_all, so the check costs a fraction of the end-to-end run)."""
    small = tmp_path / "small.yaml"
    small.write_text(
        "experiments: {methods: [plain, noise_injection]}\n"
        "ablation: {enabled: false}\nconvergence: {enabled: false}\ndevice_study: {enabled: false}\n"
        "nonidealities: {enabled: false}\ndrift_study: {enabled: false}\n"
        + ("" if warm else "compute: {warm_start: false}\n")
    )
    snakemake("table_accuracy", "--cores", cores, "--configfile", TEST_PRESET, str(small), cwd=tmp_path)
    assert (tmp_path / "logs/warm_start.log").exists() == warm
    assert "ready" in (e2e / "logs/warm_start.log").read_text()  # the reference run's jobs did start warm
    files = sorted(p.relative_to(tmp_path) for p in (tmp_path / "results/mc").rglob("*.csv"))
    assert len(files) == 3  # W/O Noise at two sigmas, W/ Noise at one
    for f in files:
        assert (tmp_path / f).read_bytes() == (e2e / f).read_bytes(), f
    # the checkpoints too: their metadata (neft.core.checkpoints) holds no time and no path
    models = sorted(p.relative_to(tmp_path) for p in (tmp_path / "results/models").glob("**/seed~*/model.pt"))
    assert len(models) == 2 and all((tmp_path / m).read_bytes() == (e2e / m).read_bytes() for m in models)
    ours = pd.read_csv(tmp_path / "results/tables/accuracy.csv")
    full = pd.read_csv(e2e / "results/tables/accuracy.csv")
    full = full[full.method.isin(ours.method) & (full.device == "RRAM1")].reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, full)


def test_report_builds(e2e):
    snakemake("--configfile", TEST_PRESET, "--report", "report.zip", cwd=e2e)
    assert (e2e / "report.zip").stat().st_size > 10_000


def test_config_change_reruns_only_what_depends_on_it(e2e, tmp_path):
    """Changing the number of chips reruns MC and downstream, never training."""
    extra = tmp_path / "more_chips.yaml"
    extra.write_text("mc: {chips: 4}\n")
    counts = job_counts(snakemake("reproduce_all", "-n", "--configfile", TEST_PRESET, str(extra), cwd=e2e).stdout)
    assert "train" not in counts and counts["evaluate_mc"] == 15


def test_scorecard_and_report_say_the_scale_differs(e2e):
    scorecard = (e2e / "results/tables/scorecard.md").read_text()
    assert "**Scale: test, not the paper's.**" in scorecard
    assert "+45.08" in scorecard  # the paper's headline, recomputed from the paper's own numbers
    claims = pd.read_csv(e2e / "results/tables/scorecard_claims.csv")
    assert set(claims["ours"]) <= {
        "holds",
        "does not hold",
        "undecided",
        "not evaluable",
    }  # neft.analysis.claims verdicts
    assert (
        claims["our_n"]
        .dropna()
        .str.fullmatch(r"\d+(-\d+)? seeds?( x \d+(-\d+)? chips|, one value per seed's sweep)|\d+ seeds per method")
        .all()
    )
    html = (e2e / "reports/neft_report.html").read_text()
    assert "This is the test scale, not the paper's" in html and html.count("<img") >= 5
    # the report names no folder of the machine it ran on: the same results give the same report anywhere
    assert str(e2e.resolve()) not in html and str(e2e) not in html
    assert "not built in this run: results/" in html  # a figure the test scale does not build, named in results/


def test_device_study_and_convergence_tables(e2e):
    devices = pd.read_csv(e2e / "results/tables/devices.csv")
    assert set(devices["device"]) == {"RRAM1", "FeFET6"} and set(devices["method"]) == {"plain", "noise_injection"}
    conv = pd.read_csv(e2e / "results/tables/convergence.csv")
    assert set(conv["method"]) == {"ovf"} and (conv["runs"] == 2).all()
    card = (e2e / "results/devices/RRAM_Wan2022_1s/card.yaml").read_text()
    assert "measured_sigma" in card and "Nature" in card


def test_two_training_seeds_end_to_end(tmp_path):
    """The default mini run trains three seeds; here two seeds at the test scale go through training, MC, the
    two-level tables, the variance split and the scorecard's seed-level claims."""
    extra = tmp_path / "two_seeds.yaml"
    extra.write_text(
        "experiments: {seeds: [0, 1], methods: [plain, noise_injection, ovf]}\n"
        "ablation: {enabled: false}\nconvergence: {enabled: false}\ndevice_study: {enabled: false}\n"
    )
    snakemake(
        "table_variance",
        "table_accuracy",
        "scorecard_all",
        "--cores",
        "2",
        "--configfile",
        TEST_PRESET,
        str(extra),
        cwd=tmp_path,
    )
    curves = pd.read_csv(tmp_path / "results/tables/accuracy_curves.csv")
    assert set(curves["seeds"]) == {2} and set(curves["chips_per_seed"]) == {3}
    noisy = curves[curves.sigma > 0]
    assert noisy["sd_within_seed"].notna().all() and noisy["sd_between_seeds"].notna().all()
    claims = pd.read_csv(tmp_path / "results/tables/scorecard_claims.csv")
    top = claims.set_index("claim").loc["OVF beats W/ Noise at the largest σ of every panel"]
    assert top["ours"] in ("holds", "does not hold", "undecided") and top["our_n"] == "2 seeds x 3 chips"
    head = pd.read_csv(tmp_path / "results/tables/headline.csv")
    assert (head["gain_vs_noise_injection_seeds"] == 2).all()
    assert "2 training seeds x 3 chips per point" in (tmp_path / "results/tables/accuracy.md").read_text()


def markdown_table_problems(md_text: str) -> list[str]:
    """Blank or NaN cells, raw model/dataset ids, rows of the wrong width: what a reader of a table should not see."""
    problems, width = [], None
    for line in md_text.splitlines():
        if not line.startswith("|"):
            width = None  # a table ends at the first line that is not a row
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
        width = width or len(cells)
        if len(cells) != width:
            problems.append(f"row of {len(cells)} cells under a header of {width}: {line[:80]}")
        problems += [f"blank cell: {line[:80]}" for c in cells if not c]
        problems += [f"NaN cell: {line[:80]}" for c in cells if c.lower() in {"nan", "+nan", "none"} or "[nan" in c]
        if re.search(r"\b(vgg8|resnet18) / (mnist|cifar10|cifar100|tinyimagenet)\b", line):
            problems.append(f"raw model/dataset id: {line[:80]}")
    return problems


def test_report_tables_have_no_blank_cells_raw_ids_or_index(e2e):
    for md in sorted((e2e / "results/tables").glob("*.md")):
        assert not markdown_table_problems(md.read_text()), (md.name, markdown_table_problems(md.read_text()))
    variance = pd.read_csv(e2e / "results/tables/variance.csv")
    assert not [c for c in variance.columns if "." in c]  # pandas renames a repeated column "seeds.1"
    html = (e2e / "reports/neft_report.html").read_text()
    assert 'class="dataframe' not in html  # no pandas display (index column, truncated cells)
    assert 'href="https://github.com/YifanQin-ND/NeFT_CIM"' in html  # the device cards' sources, linked
    assert 'href="https://doi.org/10.1038/s41586-022-04992-8"' in html
    assert "σ_d reproducing the data (fraction of the range)" in html


LADDER_TEST = (
    "scale_study:\n"
    "  enabled: true\n"
    "  methods: [plain, noise_injection, ni_temperature, ovf, ovf_beta0]\n"
    "  seeds: [0, 1]\n"
    "  rungs: [{width: 0.0625, epochs: 1}, {width: 0.0625, epochs: 2}]\n"
    "  sigma_rule: {chips: 3, factor_step: 0.1}\n"
)


def test_the_scale_ladder_end_to_end(tmp_path):
    """Two rungs (1 and 2 epochs), two seeds, five methods at the test scale: the sigma rule runs in the DAG, every
    table's numbers come from the chip rows, a rerun has nothing to do."""
    from neft.experiment import rungs as ladder

    (tmp_path / "ladder.yaml").write_text(LADDER_TEST)
    args = ("--cores", "2", "--configfile", TEST_PRESET, str(tmp_path / "ladder.yaml"))
    snakemake("scale_study", *args, cwd=tmp_path)
    res = tmp_path / "results"
    factor = ladder.read_factor(res / "scale/width~0.0625/sigma_factor.json")
    sweep = pd.read_csv(res / "scale/width~0.0625/sigma_sweep.csv")
    assert sweep.accuracy.iloc[-1] <= 35.41 < sweep.accuracy.iloc[-2]  # the sweep stops where it crosses the paper's
    acc = pd.read_csv(res / "tables/ladder.csv", dtype={"width": str, "paper_sigma": str, "sigma": str})
    assert len(acc) == 2 * 5 and set(acc.factor) == {factor} and set(acc.sigma) == {ladder.rung_sigma(factor, 0.4)}
    chips = pd.concat(
        pd.read_csv(p, dtype={"width": str, "paper_sigma": str}) for p in sorted(res.glob("scale/mc/**/*.csv"))
    )
    for r in acc.itertuples():
        g = chips[(chips.epochs == r.epochs) & (chips.method == r.method)]
        assert r.mean == pytest.approx(g.groupby("seed")["accuracy"].mean().mean(), abs=1e-4)
        assert r.seeds == 2 and r.chips_per_seed == 3
    assert acc[acc.epochs == 1].doubling_from.isna().all() and (acc[acc.epochs == 2].doubling_from == 1).all()
    assert acc[acc.method != "plain"].runs.eq(2).all()
    claims = pd.read_csv(res / "tables/ladder_claims.csv")
    assert set(claims.verdict) <= {"holds", "does not hold", "undecided", "–"} and set(claims.epochs) == {1, 2}
    decomp = pd.read_csv(res / "tables/ladder_decomposition.csv")
    assert set(decomp.comparison) == {"gain", "temp", "structure", "feedback"} and set(decomp.instance) == {"ovf"}
    assert (res / "figures/ladder.png").stat().st_size > 0 and "| rung 0.0625, 1 |" in (
        res / "tables/ladder.md"
    ).read_text()
    assert "Nothing to be done" in snakemake("scale_study", "-n", *args, cwd=tmp_path).stdout


def test_the_scale_presets_build_their_ladders(tmp_path):
    """The CPU ladder: 8 methods x 3 rungs x 3 seeds; the GPU ladder over the paper preset: 7 rungs at 4 sigmas, three
    widths, so three sigma-rule sweeps."""
    cpu = job_counts(
        snakemake("-n", "scale_study", "--configfile", str(REPO / "config/presets/scale.yaml"), cwd=tmp_path).stdout
    )
    assert cpu["train_rung"] == 72 and cpu["evaluate_rung"] == 72 and cpu["calibrate_rung_sigma"] == 1
    gpu = job_counts(
        snakemake(
            "-n", "scale_study", "--configfile", PAPER_PRESET, str(REPO / "config/presets/scale-gpu.yaml"), cwd=tmp_path
        ).stdout
    )
    assert gpu["train_rung"] == 7 * (7 * 4 + 1) * 3 and gpu["evaluate_rung"] == 7 * 8 * 4 * 3
    assert gpu["calibrate_rung_sigma"] == 3
