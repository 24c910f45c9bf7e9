import copy

import pandas as pd
import pytest
import torch

from neft import devices
from neft.mc import ChipEvaluator, ChipStats, _conv_relu, can_fuse_conv_relu, chip_seed, fold_batchnorm, fuse_conv_relu
from neft.models import VGG8, ResNet18


@pytest.fixture(autouse=True)
def _seeded():
    """Every test's random model and batch are the same on every run (a flaky chip count is no test)."""
    torch.manual_seed(0)


def trained_like(model):
    """Random BN statistics so that folding is not trivially the identity."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model.eval()


@pytest.mark.parametrize("model", [VGG8(10, 1, 32, 0.125), ResNet18(10, 3, 32, 0.125)])
def test_batchnorm_folding_is_exact_up_to_rounding(model):
    model = trained_like(model)
    x = torch.randn(8, model.features[0].in_channels if isinstance(model, VGG8) else 3, 32, 32)
    folded, factors = fold_batchnorm(model)
    assert len(factors) == sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not can_fuse_conv_relu(torch.device("cpu")), reason="needs oneDNN (mkldnn) on the CPU")
@pytest.mark.parametrize("build,channels", [(VGG8, 1), (ResNet18, 3)], ids=["vgg8", "resnet18"])
def test_conv_relu_fusion_is_bitwise_equal_and_sees_in_place_noise(build, channels):
    model = trained_like(build(10, channels, 32, 0.125))
    x, y = torch.randn(40, channels, 32, 32), torch.randint(0, 10, (40,))
    fused = fuse_conv_relu(fold_batchnorm(model)[0])
    calls = [n for n in fused.graph.nodes if n.op == "call_function" and n.target is _conv_relu]
    assert len(calls) == (6 if build is VGG8 else 9)  # VGG: every conv; ResNet: stem + first conv per block
    card = devices.get("RRAM1")
    a = ChipEvaluator(model, card, x, y, fuse=True).evaluate(0.1, 3)
    b = ChipEvaluator(model, card, x, y, fuse=False).evaluate(0.1, 3)
    # same chips, same bits: the noise written in place reaches the fused calls. Compared as frames, where NaN
    # equals NaN (confidence_correct is NaN on a chip with no correct prediction; a dict compare called it unequal)
    assert len(a.rows) == 3
    pd.testing.assert_frame_equal(pd.DataFrame(a.rows), pd.DataFrame(b.rows), check_exact=True)


def test_chip_seed_is_a_pure_function_of_its_keys():
    a = chip_seed(1, "RRAM1", 0.1, 7, "features.0.weight")
    assert a == chip_seed(1, "RRAM1", "0.10", 7, "features.0.weight")  # sigma spelled differently, same value
    others = {
        chip_seed(2, "RRAM1", 0.1, 7, "features.0.weight"),
        chip_seed(1, "RRAM4", 0.1, 7, "features.0.weight"),
        chip_seed(1, "RRAM1", 0.15, 7, "features.0.weight"),
        chip_seed(1, "RRAM1", 0.1, 8, "features.0.weight"),
        chip_seed(1, "RRAM1", 0.1, 7, "features.3.weight"),
    }
    assert a not in others and len(others) == 5


def test_chip_weights_equal_perturb_with_the_chip_seed():
    """The fast in-place path draws exactly what DeviceCard.perturb draws for that chip and layer."""
    card = devices.get("RRAM4")
    model = trained_like(VGG8(10, 1, 32, 0.125))
    ev = ChipEvaluator(
        model, card, torch.randn(4, 1, 32, 32), torch.zeros(4, dtype=torch.long), fold_bn=False, base_seed=3
    )
    ev.set_sigma(0.2)
    ev.load_chip(5)
    for name, p in model.named_parameters():
        if name in ev.layers:
            g = torch.Generator().manual_seed(chip_seed(3, "RRAM4", 0.2, 5, name))
            torch.testing.assert_close(ev.live[name].detach(), card.perturb(p.detach(), 0.2, g))


def test_folded_and_unfolded_chips_agree():
    card = devices.get("RRAM1")
    model = trained_like(VGG8(10, 1, 32, 0.125))
    x, y = torch.randn(64, 1, 32, 32), torch.randint(0, 10, (64,))
    a = ChipEvaluator(model, card, x, y, fold_bn=True).evaluate(0.1, 4)
    b = ChipEvaluator(model, card, x, y, fold_bn=False).evaluate(0.1, 4)
    for ra, rb in zip(a.rows, b.rows):
        assert abs(ra["correct"] - rb["correct"]) <= 1  # a borderline example may flip on rounding
        assert ra["confidence"] == pytest.approx(rb["confidence"], abs=1e-3)


def test_sigma_zero_chips_equal_the_clean_model():
    model = trained_like(VGG8(10, 1, 32, 0.125))
    x, y = torch.randn(50, 1, 32, 32), torch.randint(0, 10, (50,))
    stats = ChipEvaluator(model, devices.get("RRAM1"), x, y).evaluate(0, 3)
    with torch.no_grad():
        clean = (model(x).argmax(1) == y).sum().item()
    assert [r["correct"] for r in stats.rows] == [clean] * 3
    assert stats.uncertainty()["ekl"] == pytest.approx(0, abs=1e-12)


def test_sigma_zero_runs_one_forward_for_all_chips_after_a_noisy_sweep():
    """At sigma 0 every chip is the clean model, so the test set is run once and its logits serve every chip; the
    weights left noisy by a previous sweep are reset first."""
    model = trained_like(VGG8(10, 1, 32, 0.125))
    x, y = torch.randn(50, 1, 32, 32), torch.randint(0, 10, (50,))
    ev = ChipEvaluator(model, devices.get("RRAM1"), x, y, batch_size=20)
    ev.evaluate(0.3, 2)  # leaves the last chip's noisy weights in place
    calls = []
    ev.forward = lambda xb, f=ev.forward: calls.append(len(xb)) or f(xb)
    rows = ev.evaluate(0, 4).rows
    assert calls == [20, 20, 10]  # one pass over the test set, not four
    with torch.no_grad():
        clean = (model(x).argmax(1) == y).sum().item()
    assert [r["correct"] for r in rows] == [clean] * 4
    assert len({(r["confidence"], r["confidence_correct"]) for r in rows}) == 1


def test_chips_do_not_depend_on_batch_size_or_order():
    model = trained_like(VGG8(10, 1, 32, 0.125))
    x, y = torch.randn(60, 1, 32, 32), torch.randint(0, 10, (60,))
    card = devices.get("FeFET2")
    a = ChipEvaluator(model, card, x, y, batch_size=60).evaluate(0.1, range(0, 4))
    b = ChipEvaluator(model, card, x, y, batch_size=7).evaluate(0.1, [3, 2])
    assert [r["correct"] for r in a.rows[2:]][::-1] == [r["correct"] for r in b.rows]


def test_streamed_expected_kl_equals_two_pass_computation():
    torch.manual_seed(0)
    logits = [torch.randn(20, 5) for _ in range(6)]
    y = torch.randint(0, 5, (20,))
    st = ChipStats(20, 5, torch.device("cpu"))
    for k, lg in enumerate(logits):
        c, conf, ch = st.add_batch(0, lg, y)
        st.finish_chip(k, c, conf, ch)
    p = torch.stack([torch.softmax(lg.double(), 1) for lg in logits])  # chips x n x classes
    mean = p.mean(0)
    ekl = (mean[None] * (mean[None].log() - p.log())).sum(-1).mean()
    ent = lambda q: -(q * q.log()).sum(-1)  # noqa: E731
    mi = (ent(mean) - ent(p).mean(0)).mean()
    u = st.uncertainty()
    assert u["ekl"] == pytest.approx(ekl.item(), rel=1e-9)
    assert u["mutual_info"] == pytest.approx(mi.item(), rel=1e-9)
    acc0 = (logits[0].argmax(1) == y).float().mean().item() * 100
    assert st.rows[0]["accuracy"] == pytest.approx(acc0)


def test_evaluator_leaves_the_given_model_untouched():
    model = trained_like(VGG8(10, 1, 32, 0.125))
    before = copy.deepcopy(model.state_dict())
    ChipEvaluator(model, devices.get("RRAM1"), torch.randn(8, 1, 32, 32), torch.zeros(8, dtype=torch.long)).evaluate(
        0.3, 2
    )
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_adaptive_chips_are_a_prefix_of_the_fixed_run():
    model = trained_like(VGG8(10, 1, 32, 0.125))
    x, y = torch.randn(40, 1, 32, 32), torch.randint(0, 10, (40,))
    ev = ChipEvaluator(model, devices.get("RRAM1"), x, y)
    fixed = ev.evaluate(0.2, 30).rows
    adaptive = ev.evaluate(0.2, 30, adaptive={"ci_half_width": 8.0, "min_chips": 5}).rows
    assert 5 <= len(adaptive) < 30
    pd.testing.assert_frame_equal(pd.DataFrame(adaptive), pd.DataFrame(fixed[: len(adaptive)]), check_exact=True)
    # a target the chips can never reach runs to the ceiling
    assert len(ev.evaluate(0.2, 12, adaptive={"ci_half_width": 1e-9, "min_chips": 5}).rows) == 12


def test_bf16_option_runs_and_unknown_precision_is_refused():
    model = trained_like(VGG8(10, 1, 32, 0.125))
    x, y = torch.randn(16, 1, 32, 32), torch.randint(0, 10, (16,))
    rows = ChipEvaluator(model, devices.get("RRAM1"), x, y, precision="bf16").evaluate(0.1, 2).rows
    assert len(rows) == 2 and all(0 <= r["accuracy"] <= 100 for r in rows)
    with pytest.raises(ValueError, match="fp32, bf16"):
        ChipEvaluator(model, devices.get("RRAM1"), x, y, precision="fp16")


def test_allocator_threshold_is_accepted_by_glibc():
    from neft.perf import TUNED_MMAP_THRESHOLD, set_mmap_threshold

    assert set_mmap_threshold(TUNED_MMAP_THRESHOLD) is True


@pytest.mark.parametrize("precision,tf32", [("fp32", False), ("tf32", True)])
def test_tf32_option_switches_tensor_cores_for_the_forward_only(precision, tf32):
    """mc.precision reaches the arithmetic of the forward: TF32 on for tf32, off for fp32 whatever the process
    default, and the process setting restored afterwards (the flags exist, and are read, on CPU-only builds too)."""
    seen = []
    model = VGG8(10, 1, 32, 0.0625).eval()
    model.classifier[3].register_forward_hook(
        lambda *_: seen.append((torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32))
    )
    x, y = torch.randn(8, 1, 32, 32), torch.zeros(8, dtype=torch.long)
    default = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = not tf32  # the opposite, on purpose
    try:
        ev = ChipEvaluator(model, devices.get("RRAM1"), x, y, fold_bn=False, fuse=False, precision=precision)
        ev.evaluate(0.1, 2)
        assert len(seen) == 3 and all(flags == (tf32, tf32) for flags in seen[1:])  # seen[0]: class count, outside
        assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (not tf32, not tf32)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = default
