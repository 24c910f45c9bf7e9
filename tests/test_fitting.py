"""Device-model fitting: recovery of known parameters, the shipped device data, card round trip, error messages."""

import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from neft.core import devices
from neft.core.fitting import (
    DeviceDataError,
    fit_device,
    fit_file,
    fit_two_band,
    read_fit_table,
    read_level_stats,
    select_device,
    time_since_programming,
)
from neft.report.plotting import plot_fits
from neft.workflow.rules import run_job

REPO = Path(__file__).resolve().parents[1]
RRAM = REPO / "resources/device_data/rram_wan2022.csv"
PCM = REPO / "resources/device_data/pcm_nandakumar2019.csv"

# The published polynomial fits (x = g / g_max, std in uS), copied independently of the CSVs they generated.
POLYNOMIALS = {
    "RRAM_Wan2022_1s": (RRAM, 40.0, [0.348, 16.030, -43.853, 45.393, -16.815]),
    "RRAM_Wan2022_1d": (RRAM, 40.0, [0.701, 22.086, -50.773, 47.095, -16.458]),
    "RRAM_Wan2022_2d": (RRAM, 40.0, [0.782, 20.274, -43.507, 37.062, -11.934]),
    "PCM_Nandakumar2019": (PCM, 25.0, [0.26348, 1.9650, -1.1731]),
}
HEADER = "device,level,g_target_us,g_min_us,g_max_us"


def write_stats(path: Path, rel_std, g_max: float = 40.0, device: str = "dev", comments: str = "") -> Path:
    lines = [f"# {c}" for c in comments.splitlines()] + [f"{HEADER},std_us"]
    n = len(rel_std)
    for lv, r in enumerate(rel_std):
        lines.append(f"{device},{lv},{g_max * lv / (n - 1)},0,{g_max},{r * g_max}")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_raw(path: Path, sigma_p: float, s: float, n: int, seed: int, g_max: float = 40.0) -> Path:
    """Raw programmed samples of a 2-bit device drawn from the two-band model itself."""
    rng = np.random.default_rng(seed)
    frames = []
    for lv in range(4):
        target = g_max * lv / 3
        std = sigma_p * (s if lv in (1, 2) else 1.0) * g_max
        g = target + std * rng.standard_normal(n)
        frames.append(pd.DataFrame({"device": "synth", "level": lv, "g_target_us": target, "g_min_us": 0.0,
                                    "g_max_us": g_max, "g_us": g}))  # fmt: skip
    text = "# citation: synthetic two-band device\n" + pd.concat(frames).to_csv(index=False)
    path.write_text(text)
    return path


# -- (a), (b): recovery --------------------------------------------------------------------------------------------
def test_fit_recovers_parameters_from_raw_samples(tmp_path):
    path = write_raw(tmp_path / "raw.csv", sigma_p=0.03, s=3.0, n=5000, seed=1234)
    stats = read_level_stats(path)
    assert stats.attrs["format"] == "raw"
    assert stats["n_samples"].tolist() == [5000] * 4
    card, table = fit_device(stats, "SYNTH")
    fit = card.extra["fit"]
    assert card.middle_multiplier == pytest.approx(3.0, rel=0.03)
    assert fit["sigma_prime"] == pytest.approx(0.03, rel=0.03)
    assert card.extra["measured_sigma"] == pytest.approx(0.03 * math.sqrt(0.4 * 9 + 0.6), rel=0.03)
    # the card's own normalisation, evaluated at measured_sigma, gives back the fitted sigma'
    assert card.effective_sigma(card.extra["measured_sigma"]) == pytest.approx(fit["sigma_prime"], rel=1e-12)
    assert fit["rmse"] < 0.03 * 0.03
    assert table["level_multiplier"].tolist() == pytest.approx([1, 3, 3, 1], rel=0.05)


def test_fit_is_exact_on_exact_statistics(tmp_path):
    card, table = fit_file(write_stats(tmp_path / "d.csv", [0.02, 0.05, 0.05, 0.02]), "dev", "EXACT")
    fit = card.extra["fit"]
    assert card.middle_multiplier == pytest.approx(2.5, rel=1e-12)
    assert fit["sigma_prime"] == pytest.approx(0.02, rel=1e-12)
    assert card.extra["measured_sigma"] == pytest.approx(0.02 * math.sqrt(0.4 * 6.25 + 0.6), rel=1e-12)
    assert fit["rmse"] == pytest.approx(0.0, abs=1e-15)
    assert fit["r2"] == pytest.approx(1.0)
    assert fit["n_levels"] == 4 and not fit["s_at_bound"]
    assert card.extra["level_multipliers"] == pytest.approx([1.0, 2.5, 2.5, 1.0], rel=1e-12)
    assert table["band"].tolist() == ["extreme", "middle", "middle", "extreme"]
    assert table["residual"].abs().max() < 1e-15
    assert (card.bits_per_weight, card.bits_per_device, card.middle_band, card.middle_fraction) == (
        8,
        2,
        (0.25, 0.75),
        0.4,
    )


@pytest.mark.parametrize(
    "rel,s_min,s_max",
    [
        ([0.0087, 0.0573, 0.0418, 0.0276], 1e-2, 1e2),  # asymmetric, interior optimum
        ([0.05, 0.001, 0.002, 0.04], 0.5, 1e2),  # middle quieter than s_min allows: on the lower bound
        ([0.001, 0.08, 0.09, 0.002], 1e-2, 5.0),  # middle far noisier than s_max allows: on the upper bound
    ],
)
def test_closed_form_matches_numerical_least_squares(rel, s_min, s_max):
    from scipy.optimize import minimize

    middle = np.array([False, True, True, False])
    r = np.array(rel)
    sigma_p, s = fit_two_band(r, middle, s_min=s_min, s_max=s_max)

    def loss(p):
        return float(((r - p[0] * np.where(middle, p[1], 1.0)) ** 2).sum())

    best = min(
        (minimize(loss, x0, bounds=[(0, None), (s_min, s_max)], method="L-BFGS-B", options={"ftol": 1e-15})
         for x0 in ([0.01, 1.0], [0.05, s_max / 2], [0.03, s_min])),
        key=lambda res: res.fun,
    )  # fmt: skip
    assert s_min <= s <= s_max
    assert loss([sigma_p, s]) <= best.fun + 1e-12
    assert (sigma_p, s) == pytest.approx(tuple(best.x), rel=1e-3)


# -- (c): the shipped data --------------------------------------------------------------------------------------
def test_shipped_data_parse_with_provenance():
    rram, pcm = read_level_stats(RRAM), read_level_stats(PCM)
    assert list(dict.fromkeys(rram["device"])) == ["RRAM_Wan2022_1s", "RRAM_Wan2022_1d", "RRAM_Wan2022_2d"]
    assert list(pcm["device"].unique()) == ["PCM_Nandakumar2019"]
    for df, names in ((rram, ("Wan", "Nature", "10.1038/s41586-022-04992-8")), (pcm, ("Nandakumar", "ICECS"))):
        prov = df.attrs["provenance"]
        assert all(n in prov["citation"] for n in names)
        assert "aihwkit" in prov["text"] and "polynomial" in prov
        assert df.groupby("device")["level"].apply(list).map(lambda lv: lv == [0, 1, 2, 3]).all()


@pytest.mark.parametrize("device", list(POLYNOMIALS))
def test_shipped_data_are_the_published_polynomials_at_the_four_levels(device):
    path, g_max, coeff = POLYNOMIALS[device]
    d = select_device(read_level_stats(path), device)
    x = np.arange(4) / 3
    expected = np.maximum(0.0, sum(c * x**i for i, c in enumerate(coeff)))
    assert d["std_us"].to_numpy() == pytest.approx(expected, abs=1e-6)
    assert d["g_target_us"].to_numpy() == pytest.approx(g_max * x, abs=1e-6)
    assert (d["g_min_us"] == 0).all() and (d["g_max_us"] == g_max).all()


def test_shipped_fits_rram_middle_noisiest_pcm_flatter():
    rram, _ = fit_file(RRAM, "RRAM_Wan2022_1s", "RRAM_W1s")
    pcm, _ = fit_file(PCM, "PCM_Nandakumar2019", "PCM_N19")
    assert rram.middle_multiplier > 1.5
    assert 1.0 < pcm.middle_multiplier < rram.middle_multiplier
    for card, needle in ((rram, "Wan"), (pcm, "Nandakumar")):
        assert needle in card.provenance["citation"]
        assert card.provenance["source"].endswith(".csv") and "polynomial" in card.provenance["data"]
        assert 0 < card.extra["fit"]["rmse"] < card.extra["fit"]["sigma_prime"]


# -- (d), (e): the fitted card as a device card ---------------------------------------------------------------
def test_fitted_card_round_trips(tmp_path):
    card, _ = fit_file(RRAM, "RRAM_Wan2022_1d", "RRAM_W1d")
    path = tmp_path / "devices/RRAM_W1d/card.yaml"
    card.save(path)
    for loaded in (devices.get(str(path)), devices.get("RRAM_W1d", search=[tmp_path / "devices"])):
        assert loaded == card
        assert loaded.extra["measured_sigma"] == card.extra["measured_sigma"]
        assert loaded.extra["level_multipliers"] == card.extra["level_multipliers"]
        assert set(loaded.extra["fit"]) >= {"rmse", "r2", "n_levels", "sigma_prime"}
        assert loaded.provenance["citation"] == card.provenance["citation"]


def test_fitted_card_perturbs_with_its_band_ratio(tmp_path):
    card, _ = fit_file(write_stats(tmp_path / "d.csv", [0.02, 0.07, 0.07, 0.02]), "dev", "D")
    assert card.middle_multiplier == pytest.approx(3.5)
    w = torch.linspace(-1, 1, 200_001, dtype=torch.float64)
    sigma = card.extra["measured_sigma"]
    scale = card.noise_scale(w, sigma)
    ratio = w.abs() / w.abs().max()
    middle, extreme = (ratio > 0.25) & (ratio < 0.75), (ratio < 0.25) | (ratio > 0.75)
    extreme_std = card.c * card.extra["fit"]["sigma_prime"]  # max|W| = 1
    assert torch.allclose(scale[extreme], torch.tensor(extreme_std, dtype=torch.float64), rtol=1e-12)
    assert torch.allclose(scale[middle], torch.tensor(3.5 * extreme_std, dtype=torch.float64), rtol=1e-12)
    noise = card.perturb(w, sigma, generator=torch.Generator().manual_seed(0)) - w
    assert (noise[middle].std() / noise[extreme].std()).item() == pytest.approx(3.5, rel=0.02)
    assert noise[extreme].std().item() == pytest.approx(extreme_std, rel=0.02)


# -- (f): malformed data ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,needles",
    [
        ("device,level,g_min_us,g_max_us,std_us\nd,0,0,40,1\n", ["g_target_us"]),
        (f"{HEADER}\nd,0,0,0,40\n", ["std_us", "g_us"]),
        (f"{HEADER},std_us\nd,0,0,0,40,1\nd,1,13,0,40,1\nd,3,40,0,40,1\n", ["level", "[2] missing"]),
        (f"{HEADER},std_us\nd,0,0,0,40,1\nd,1,13,0,40,1\nd,2,26,0,40,1\n", ["level", "[3] missing"]),
        (f"{HEADER},std_us\nd,0,0,0,40,1\nd,1,13,0,40,-0.5\nd,2,26,0,40,1\nd,3,40,0,40,1\n", ["std_us", "row(s) 2"]),
        (f"{HEADER},std_us\nd,0,0,0,40,1\nd,1,13,0,40,x\nd,2,26,0,40,1\nd,3,40,0,40,1\n", ["std_us", "finite"]),
        (f"{HEADER},std_us\nd,0,0,0,40,1\nd,0,0,0,40,2\nd,1,13,0,40,1\n", ["duplicate"]),
        (f"{HEADER},std_us\nd,0,0,40,40,1\nd,1,13,40,40,1\n", ["g_max_us", "must exceed"]),
        (f"{HEADER},g_us\nd,0,0,0,40,0.1\nd,0,0,0,40,0.2\nd,1,40,0,40,39\n", ["g_us", ">= 2 samples"]),
        ("# only a comment\n", ["no header"]),
    ],
)
def test_malformed_data_are_rejected_with_file_and_column(tmp_path, text, needles):
    path = tmp_path / "broken_device.csv"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        read_level_stats(path)
    message = str(info.value)
    assert isinstance(info.value, DeviceDataError)
    assert str(path) in message
    for needle in needles:
        assert needle in message


def test_unknown_device_and_unfittable_devices_are_named(tmp_path):
    with pytest.raises(DeviceDataError, match="RRAM_Wan2022_1s"):
        fit_file(RRAM, "RRAM_Wan2022_3d", "X")
    with pytest.raises(DeviceDataError, match="one device at a time"):
        fit_device(read_level_stats(RRAM), "X")
    with pytest.raises(DeviceDataError, match="zero std"):
        fit_file(write_stats(tmp_path / "z.csv", [0, 0, 0, 0]), "dev", "Z")
    with pytest.raises(DeviceDataError, match="middle and one extreme"):
        fit_file(write_stats(tmp_path / "b.csv", [0.01, 0.02]), "dev", "ONEBIT")  # 1-bit: no middle level
    with pytest.raises(DeviceDataError, match="not found"):
        read_level_stats(tmp_path / "absent.csv")


# -- (g): figure and the workflow's jobs (neft.workflow.rules) ---------------------------------------------------------
def test_plot_fits_writes_png_and_pdf(tmp_path):
    tables, cards = {}, {}
    for name, src in (("W1s", "RRAM_Wan2022_1s"), ("W2d", "RRAM_Wan2022_2d")):
        cards[name], tables[name] = fit_file(RRAM, src, name)
    cards["PCM"], tables["PCM"] = fit_file(PCM, "PCM_Nandakumar2019", "PCM")
    paths = [tmp_path / "fig/device_fit.png", tmp_path / "fig/device_fit.pdf"]
    plot_fits(tables, paths, cards=cards)
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[0].stat().st_size > 5000
    assert paths[1].read_bytes()[:5] == b"%PDF-" and paths[1].stat().st_size > 5000


def test_workflow_adapters(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stderr", sys.stderr)  # job_log redirects stderr into the rule's log
    out = tmp_path / "results/devices/RRAM_W1s"
    smk = SimpleNamespace(
        rule="fit_device",
        input=SimpleNamespace(data=str(RRAM)),
        params=SimpleNamespace(source_device="RRAM_Wan2022_1s", source="resources/device_data/rram_wan2022.csv"),
        wildcards=SimpleNamespace(device="RRAM_W1s"),
        output=SimpleNamespace(card=str(out / "card.yaml"), fit=str(out / "fit.csv")),
        log=[str(tmp_path / "logs/fit.log")],
    )
    run_job(smk)
    card = devices.get("RRAM_W1s", search=[tmp_path / "results/devices"])
    assert card.provenance["source"] == "resources/device_data/rram_wan2022.csv"
    table = read_fit_table(out / "fit.csv")
    assert table["device"].unique().tolist() == ["RRAM_W1s"]
    assert table["model_rel_std"].to_numpy() == pytest.approx(
        card.extra["fit"]["sigma_prime"] * np.array([1, card.middle_multiplier, card.middle_multiplier, 1]), rel=1e-7
    )
    assert "s = " in (tmp_path / "logs/fit.log").read_text()

    figures = [str(tmp_path / "figures/device_fit.pdf"), str(tmp_path / "figures/device_fit.png")]
    smk = SimpleNamespace(
        rule="plot_device_fits",
        input=SimpleNamespace(fits=[str(out / "fit.csv")], cards=[str(out / "card.yaml")]),
        output=SimpleNamespace(figures=figures),
        log=[str(tmp_path / "logs/plot.log")],
    )
    run_job(smk)
    assert all(Path(f).stat().st_size > 0 for f in figures)


def test_raw_std_is_the_unbiased_sample_std(tmp_path):
    rows = [f"{HEADER},g_us"]
    for lv, target in enumerate((0.0, 10.0, 20.0, 30.0)):
        rows += [f"d,{lv},{target},0,30,{target + dev * (lv + 1)}" for dev in (-1.0, 0.0, 1.0)]
    (tmp_path / "raw.csv").write_text("\n".join(rows) + "\n")
    stats = read_level_stats(tmp_path / "raw.csv")
    assert stats["std_us"].tolist() == pytest.approx([1.0, 2.0, 3.0, 4.0], rel=1e-12)  # ddof = 1
    assert stats["n_samples"].tolist() == [3, 3, 3, 3]


def test_middle_levels_follow_the_band_rule(tmp_path):
    """A 3-bit device: levels at l/7 strictly inside (0.25, 0.75) are 2..5; a narrower band keeps only some."""
    rel = [0.01, 0.01, 0.04, 0.04, 0.04, 0.04, 0.01, 0.01]
    card, table = fit_file(write_stats(tmp_path / "d3.csv", rel), "dev", "D3", bits_per_weight=6)
    assert card.bits_per_device == 3 and card.middle_multiplier == pytest.approx(4.0)
    assert table.loc[table.band == "middle", "level"].tolist() == [2, 3, 4, 5]
    card, table = fit_file(tmp_path / "d3.csv", "dev", "D3n", bits_per_weight=6, middle_band=(2 / 7, 5 / 7))
    assert table.loc[table.band == "middle", "level"].tolist() == [3, 4]


def test_plot_fits_names_the_published_fits_states_r2_and_runs_in_time(tmp_path, monkeypatch):
    from neft.report import plotting

    figures = []
    monkeypatch.setattr(plotting, "save", lambda fig, paths: figures.append(fig))
    cards, tables = {}, {}
    for name in ("RRAM_Wan2022_2d", "RRAM_Wan2022_1s", "PCM_Nandakumar2019", "RRAM_Wan2022_1d"):  # out of order
        cards[name], tables[name] = fit_file(PCM if name.startswith("PCM") else RRAM, name, name)
    # a constructed device, no time in its name: r^2 = 1 - 2e-4 / 11e-4 = 0.818 (levels 0.01, 0.03, 0.05, 0.01)
    cards["synth"], tables["synth"] = fit_file(
        write_stats(tmp_path / "s.csv", [0.01, 0.03, 0.05, 0.01]), "dev", "synth"
    )
    plot_fits(tables, ["unused.png"], cards=cards)
    fig = figures[0]
    titles = [ax.get_title() for ax in fig.axes if ax.axison]
    # untimed cards first in the order given, then by time since programming
    order = ["PCM_Nandakumar2019", "synth", "RRAM_Wan2022_1s", "RRAM_Wan2022_1d", "RRAM_Wan2022_2d"]
    assert [t.split(":")[0] for t in titles] == order
    for title, name in zip(titles, order):
        t = tables[name]
        m, f = t["measured_rel_std"].to_numpy(), t["model_rel_std"].to_numpy()
        r2 = 1 - ((m - f) ** 2).sum() / ((m - m.mean()) ** 2).sum()
        assert f"$r^2$ = {r2:.3f}" in title
    assert "$r^2$ = 0.818" in titles[1] and "$r^2$ = 0.163" in titles[0]  # the PCM's, as docs/methods.md says
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    (published,) = [n for n in names if "aihwkit" in n]
    assert "polynomial fit" in published and "published" in published and "not raw data" in published
    assert "measured" in names  # the constructed device has no fit_source: its points are its own statistics
    assert time_since_programming("RRAM_Wan2022_1d") == 86400 and time_since_programming("PCM_Nandakumar2019") is None
