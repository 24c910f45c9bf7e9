"""The worst-case probe (neft.core.probe) finds a chip below the sampled 1st percentile where one is known to exist."""

import numpy as np
import pytest
import torch
from torch import nn

from neft.core.devices import get
from neft.core.mc import ChipEvaluator, McSettings
from neft.core.probe import probe


def fragile_model(d: int = 64):
    """A linear classifier whose margin is small along one direction u of weight space and large along every other:
    random chips (noise spread over all d directions) rarely cross it; a chip with its noise along u does."""
    torch.manual_seed(0)
    u = torch.randn(d)
    u /= u.norm()
    x = (u.repeat(200, 1) + 0.05 * torch.randn(200, d)).view(200, 1, 8, d // 8)
    y = torch.zeros(200, dtype=torch.long)
    model = nn.Sequential(nn.Flatten(), nn.Linear(d, 2, bias=False))
    with torch.no_grad():
        # logit gap 1 along u; a large weight shared by both rows (it cancels in the gap) sets max|W|, hence the noise
        shared = torch.zeros(d)
        shared[0] = 3.0
        model[1].weight.copy_(torch.stack([0.5 * u + shared, -0.5 * u + shared]))
    return model.eval(), x, y


def test_the_probe_finds_a_typical_norm_chip_below_the_sampled_first_percentile():
    model, x, y = fragile_model()
    ev = ChipEvaluator(model, get("RRAM1"), x, y, McSettings(batch_size=100, fold_bn=False), fuse=False)
    sigma = 0.1
    sampled = [r["accuracy"] for r in ev.evaluate(sigma, 200).rows]
    start = int(np.argmin(sampled))
    found = probe(ev, sigma, sampled, start_chip=start, steps=30, step=0.05, radius_quantile=0.99)
    assert found["sampled_p1"] > 50  # sampling alone says the tail is fine
    assert found["found_accuracy"] < found["sampled_p1"] - 20  # the probe finds a far worse chip
    assert found["found_norm"] <= found["radius"] + 1e-6 and found["found_norm_quantile"] <= 0.99 + 1e-9
    assert found["below_p1"] == pytest.approx(found["sampled_p1"] - found["found_accuracy"])


def test_the_probe_is_deterministic_and_refuses_non_idealities():
    from dataclasses import replace

    model, x, y = fragile_model()
    ev = ChipEvaluator(model, get("RRAM1"), x, y, McSettings(batch_size=100, fold_bn=False), fuse=False)
    sampled = [r["accuracy"] for r in ev.evaluate(0.1, 20).rows]
    a = probe(ev, 0.1, sampled, start_chip=0, steps=5)
    b = probe(ev, 0.1, sampled, start_chip=0, steps=5)
    assert a == b
    noisy = ChipEvaluator(model, replace(get("RRAM1"), read_noise=0.1), x, y, McSettings(fold_bn=False))
    with pytest.raises(ValueError, match="programming variation only"):
        probe(noisy, 0.1, sampled, start_chip=0)
