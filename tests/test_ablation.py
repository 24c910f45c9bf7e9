import numpy as np
import pandas as pd
import pytest

from neft.analysis.ablation import beta_sweep, decomposition

ABLATION = {
    "baseline": "noise_injection",
    "instances": {"ovf": {"temperature": "ni_t", "no_feedback": "ovf_b0"}},
    "sigmas": [0.1],
    "sweep_sigmas": [0.1],
    "beta_sweep": {"ovf": [0.01]},
}


def chips(offsets: dict[str, float], n=20, noise=True):
    """Per-chip accuracies base_k + offset: the chip-to-chip variation is shared, as on real paired chips."""
    rng = np.random.default_rng(0)
    base = 60 + 10 * rng.standard_normal(n)
    rows = []
    for method, off in offsets.items():
        jitter = 0.1 * rng.standard_normal(n) if noise else np.zeros(n)
        for k in range(n):
            rows.append(("vgg8", "mnist", method, "RRAM1", "0.1", 0, "0.1", k, base[k] + off + jitter[k]))
    return pd.DataFrame(
        rows, columns=["model", "dataset", "method", "device", "sigma_train", "seed", "sigma_test", "chip", "accuracy"]
    )


def test_decomposition_recovers_known_paired_differences():
    c = chips({"noise_injection": 0, "ovf": 5, "ni_t": 1, "ovf_b0": 3})
    d = decomposition(c, ABLATION).set_index("comparison")
    assert d.loc["gain", "diff"] == pytest.approx(5, abs=0.1)
    assert d.loc["temp", "diff"] == pytest.approx(1, abs=0.1)
    assert d.loc["structure", "diff"] == pytest.approx(3, abs=0.1)
    assert d.loc["feedback", "diff"] == pytest.approx(2, abs=0.1)
    assert d.loc["feedback", "share_of_gain"] == pytest.approx(0.4, abs=0.03)
    # pairing: the shared chip variation (std 10) cancels, so the CI is narrow
    assert d.loc["gain", "ci_high"] - d.loc["gain", "ci_low"] < 0.5


def test_decomposition_skips_missing_controls():
    c = chips({"noise_injection": 0, "ovf": 5})
    assert decomposition(c, ABLATION).empty


def test_beta_sweep_orders_betas_and_pairs_with_beta_zero():
    c = chips({"ovf_b0": 0, "ovf": 2, "ovf_beta0.01": 4}, noise=False)
    methods = {"ovf": {"kind": "ovf", "params": {"beta": "paper"}}}
    s = beta_sweep(c, ABLATION, methods)
    assert list(s["beta"]) == [0.0, 1e-3, 0.01]  # 1e-3 is the paper's beta for VGG-8/MNIST
    assert list(s["method"]) == ["ovf_b0", "ovf", "ovf_beta0.01"]
    assert s["diff_vs_beta0"].tolist() == pytest.approx([0, 2, 4])


def test_beta_sweep_uses_the_seeds_all_its_variants_share():
    """ablation.sweep_seeds may train the swept betas on one seed while beta = 0 and the paper's beta have three:
    the sweep's curve is then drawn on that one seed, not on a mix of one-seed and three-seed means."""
    base = chips({"ovf_b0": 0, "ovf": 2}, noise=False)
    extra = [base.assign(seed=s, accuracy=base.accuracy + 10 * s) for s in (1, 2)]  # seeds 1, 2 far off
    c = pd.concat([base, *extra, chips({"ovf_beta0.01": 4}, noise=False)], ignore_index=True)
    methods = {"ovf": {"kind": "ovf", "params": {"beta": "paper"}}}
    s = beta_sweep(c, ABLATION, methods)
    assert set(s["seeds"]) == {1}
    assert s.set_index("method").loc["ovf", "mean"] == pytest.approx(base[base.method == "ovf"].accuracy.mean())
