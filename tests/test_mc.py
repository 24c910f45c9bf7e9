import copy

import pandas as pd
import pytest
import torch

from neft.core import devices
from neft.core.mc import (
    ChipEvaluator,
    ChipStats,
    McSettings,
    _conv_relu,
    can_fuse_conv_relu,
    chip_seed,
    fold_batchnorm,
    fuse_conv_relu,
)
from neft.core.models import VGG8, ResNet18


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
        model, card, torch.randn(4, 1, 32, 32), torch.zeros(4, dtype=torch.long), McSettings(fold_bn=False, seed=3)
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
    a = ChipEvaluator(model, card, x, y, McSettings(fold_bn=True)).evaluate(0.1, 4)
    b = ChipEvaluator(model, card, x, y, McSettings(fold_bn=False)).evaluate(0.1, 4)
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
    ev = ChipEvaluator(model, devices.get("RRAM1"), x, y, McSettings(batch_size=20))
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
    a = ChipEvaluator(model, card, x, y, McSettings(batch_size=60)).evaluate(0.1, range(0, 4))
    b = ChipEvaluator(model, card, x, y, McSettings(batch_size=7)).evaluate(0.1, [3, 2])
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


def _sweep_stats(logits, y, bootstrap=0, seed=0):
    st = ChipStats(y.numel(), logits[0].shape[1], torch.device("cpu"), bootstrap=bootstrap, bootstrap_seed=seed)
    for k, lg in enumerate(logits):
        st.finish_chip(k, *st.add_batch(0, lg, y))
    return st.uncertainty()


def test_expected_kl_bootstrap_error_matches_its_spread_over_independent_chip_sets():
    # chips are draws from one distribution of logit perturbations; the std of the expected KL over many
    # independent sets of 30 chips is the error the bootstrap must estimate from one set
    gen = torch.Generator().manual_seed(1)
    base, y = torch.randn(40, 4, generator=gen), torch.randint(0, 4, (40,), generator=gen)
    chip_sets = [[base + 1.5 * torch.randn(40, 4, generator=gen) for _ in range(30)] for _ in range(120)]
    true_sd = torch.tensor([_sweep_stats(c, y)["ekl"] for c in chip_sets]).std().item()
    estimates = [_sweep_stats(c, y, bootstrap=200, seed=7)["ekl_se"] for c in chip_sets[:8]]
    assert 0.7 * true_sd < sum(estimates) / len(estimates) < 1.3 * true_sd
    again = _sweep_stats(chip_sets[0], y, bootstrap=200, seed=7)
    assert again["ekl_se"] == estimates[0] and again["ekl"] == _sweep_stats(chip_sets[0], y)["ekl"]
    same = _sweep_stats([base] * 10, y, bootstrap=50)  # identical chips: nothing to resample
    assert same["ekl"] == pytest.approx(0, abs=1e-12) and same["ekl_se"] == pytest.approx(0, abs=1e-6)
    assert "ekl_se" not in _sweep_stats(chip_sets[0], y)  # off by default


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
    rows = ChipEvaluator(model, devices.get("RRAM1"), x, y, McSettings(precision="bf16")).evaluate(0.1, 2).rows
    assert len(rows) == 2 and all(0 <= r["accuracy"] <= 100 for r in rows)
    with pytest.raises(ValueError, match="fp32, bf16"):
        ChipEvaluator(model, devices.get("RRAM1"), x, y, McSettings(precision="fp16"))


def test_allocator_threshold_is_accepted_by_glibc():
    from neft.util.perf import TUNED_MMAP_THRESHOLD, set_mmap_threshold

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
        ev = ChipEvaluator(
            model, devices.get("RRAM1"), x, y, McSettings(fold_bn=False, precision=precision), fuse=False
        )
        ev.evaluate(0.1, 2)
        assert len(seen) == 3 and all(flags == (tf32, tf32) for flags in seen[1:])  # seen[0]: class count, outside
        assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (not tf32, not tf32)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = default


# -- mc.chips_per_pass: K chips in one batched forward ---------------------------------------------------------------
def _small(build):
    """A narrow, BN-trained-like model on tiny inputs (16 x 16): what the K > 1 tests run."""
    channels = 1 if build is VGG8 else 3
    model = trained_like(build(10, channels, 16, 0.0625))
    return model, torch.randn(30, channels, 16, 16), torch.randint(0, 10, (30,))


def _assert_rows_close(got, want):
    assert [r["chip"] for r in got] == [r["chip"] for r in want]
    for a, b in zip(got, want):
        assert a["correct"] == b["correct"] and a["n"] == b["n"]
        assert a["accuracy"] == pytest.approx(b["accuracy"], abs=1e-5)
        assert a["confidence"] == pytest.approx(b["confidence"], abs=1e-5)
        assert a["confidence_correct"] == pytest.approx(b["confidence_correct"], abs=1e-5, nan_ok=True)


@pytest.mark.parametrize("build", [VGG8, ResNet18], ids=["vgg8", "resnet18"])
def test_chips_per_pass_rows_equal_the_one_chip_path(build):
    model, x, y = _small(build)
    card = devices.get("RRAM1")
    ref = ChipEvaluator(model, card, x, y, McSettings(batch_size=16), fuse=False).evaluate(0.2, 7)
    fused = ChipEvaluator(model, card, x, y, McSettings(batch_size=16)).evaluate(0.2, 7)  # the default path on CPUs
    u = ref.uncertainty()
    for k in (1, 3, 4):  # 7 chips: 3 -> blocks 3, 3, 1; 4 -> 4, 3 (a partial last block)
        got = ChipEvaluator(model, card, x, y, McSettings(batch_size=16, chips_per_pass=k)).evaluate(0.2, 7)
        _assert_rows_close(got.rows, ref.rows)
        if k == 1:  # K = 1 is the one-chip path itself, bitwise
            pd.testing.assert_frame_equal(pd.DataFrame(got.rows), pd.DataFrame(fused.rows), check_exact=True)
        g = got.uncertainty()
        assert g["chips"] == 7
        assert g["ekl"] == pytest.approx(u["ekl"], rel=1e-5, abs=1e-8)
        assert g["mutual_info"] == pytest.approx(u["mutual_info"], rel=1e-5, abs=1e-8)


def test_a_block_holds_each_chip_s_own_noisy_weights_bitwise():
    """Slice j of the stack is chip j exactly as the one-chip path draws it (same seeds, same eps layout)."""
    model, x, y = _small(VGG8)
    card = devices.get("RRAM4")
    one = ChipEvaluator(model, card, x, y, McSettings(seed=5), fuse=False)
    many = ChipEvaluator(model, card, x, y, McSettings(seed=5, chips_per_pass=3))
    one.set_sigma(0.2)
    many.set_sigma(0.2)
    many.load_block([4, 9, 2])
    for j, chip in enumerate([4, 9, 2]):
        one.load_chip(chip)
        for n in one.layers:
            assert many.stack[n][j].stride() == one.live[n].stride()
            assert torch.equal(many.stack[n][j], one.live[n].detach())


def test_chips_per_pass_runs_one_forward_per_block_and_batch():
    model, x, y = _small(VGG8)
    ev = ChipEvaluator(model, devices.get("RRAM1"), x, y, McSettings(batch_size=20, chips_per_pass=4))
    calls, block = [], ev.forward_block

    def counted(stacked, fixed, xb):
        calls.append((len(next(iter(stacked.values()))), len(xb)))  # (chips in the stack, images)
        return block(stacked, fixed, xb)

    ev.forward_block = counted
    ev.forward = lambda xb: pytest.fail("the one-chip forward ran")
    rows = ev.evaluate(0.2, 7).rows
    assert calls == [(4, 20), (4, 10), (3, 20), (3, 10)]  # 2 blocks x 2 batches, not 7 chips x 2 batches
    assert [r["chip"] for r in rows] == list(range(7))


@pytest.mark.parametrize("k", [3, 4])
def test_adaptive_chips_per_pass_is_a_prefix_of_the_fixed_run(k):
    model, x, y = _small(VGG8)  # base seed 0: chips whose adaptive stop falls inside a block
    card = devices.get("RRAM1")
    fixed = ChipEvaluator(model, card, x, y, McSettings(seed=0), fuse=False).evaluate(0.2, 30)
    ev = ChipEvaluator(model, card, x, y, McSettings(chips_per_pass=k, seed=0))
    rule = {"ci_half_width": 8.0, "min_chips": 5}
    adaptive = ev.evaluate(0.2, 30, adaptive=rule)
    n = len(adaptive.rows)
    assert 5 <= n < 30 and n % k  # it stops inside a block: the block's later chips are computed, then dropped
    assert n == len(
        ChipEvaluator(model, card, x, y, McSettings(seed=0), fuse=False).evaluate(0.2, 30, adaptive=rule).rows
    )
    _assert_rows_close(adaptive.rows, fixed.rows[:n])
    # the sums stop with the rows, even inside a block: the statistics are those of the first n fixed chips
    prefix = ChipEvaluator(model, card, x, y, McSettings(seed=0), fuse=False).evaluate(0.2, n).uncertainty()
    assert adaptive.uncertainty()["ekl"] == pytest.approx(prefix["ekl"], rel=1e-5)


def test_chips_per_pass_at_sigma_zero_keeps_the_one_forward_shortcut():
    model, x, y = _small(ResNet18)
    ev = ChipEvaluator(model, devices.get("RRAM1"), x, y, McSettings(batch_size=20, chips_per_pass=4))
    ev.evaluate(0.3, 5)  # a noisy sweep first
    calls = []
    ev.forward = lambda xb, f=ev.forward: calls.append(len(xb)) or f(xb)
    ev.forward_block = lambda *a: pytest.fail("a block forward ran at sigma 0")
    stats = ev.evaluate(0, 6)
    assert calls == [20, 10]
    with torch.no_grad():
        clean = (model(x).argmax(1) == y).sum().item()
    assert [r["correct"] for r in stats.rows] == [clean] * 6
    assert stats.uncertainty()["ekl"] == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("precision", ["bf16", "tf32"])
def test_chips_per_pass_precision_options(precision):
    """bf16: explicit bf16 weights and inputs (autocast does not reach inside vmap), close to the autocast path;
    tf32: the flags are switched for the block forward as for the one-chip forward."""
    model, x, y = _small(VGG8)
    card = devices.get("RRAM1")
    seen = []
    ref = ChipEvaluator(model, card, x, y, McSettings(precision=precision)).evaluate(0.1, 5).rows
    ev = ChipEvaluator(model, card, x, y, McSettings(precision=precision, chips_per_pass=4))
    ev.model.get_submodule("classifier.3").register_forward_hook(
        lambda _m, _i, out: seen.append((out.dtype, torch.backends.cudnn.allow_tf32))
    )
    rows = ev.evaluate(0.1, 5).rows
    seen = seen[1:]  # seen[0]: the class count, outside the precision context
    assert len(rows) == 5 and len(seen) == 2  # one forward per block
    if precision == "bf16":
        assert all(dtype == torch.bfloat16 for dtype, _ in seen)
        for a, b in zip(rows, ref):
            assert abs(a["correct"] - b["correct"]) <= 2 and a["confidence"] == pytest.approx(b["confidence"], abs=2e-2)
    else:
        assert all(tf32 for _, tf32 in seen)
        _assert_rows_close(rows, ref)


def test_chips_per_pass_is_validated_and_refuses_fusion():
    model, x, y = _small(VGG8)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="chips_per_pass"):
            ChipEvaluator(model, devices.get("RRAM1"), x, y, McSettings(chips_per_pass=bad))
    with pytest.raises(ValueError, match="vmap"):
        ChipEvaluator(model, devices.get("RRAM1"), x, y, McSettings(chips_per_pass=2), fuse=True)
    assert not any(
        n.target is _conv_relu
        for n in ChipEvaluator(model, devices.get("RRAM1"), x, y, McSettings(chips_per_pass=2)).model.graph.nodes
    )
