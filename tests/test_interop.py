"""IBM's aihwkit-lightning beside ours (neft.core.interop, the aihwkit_hwa method, the cross-check table): the same
noise, a trained twin whose checkpoint is our plain state_dict, and an export whose clean forward is ours."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from neft.analysis.crosscheck import AGREE, OURS_HIGHER, THEIRS_HIGHER, paired_table, write_crosscheck
from neft.core import devices, interop
from neft.core.checkpoints import load_checkpoint
from neft.core.methods import build_method
from neft.core.train import seeded_model
from neft.util.io import load_state_dict_strict, load_tensors
from tests.test_train import SPEC, run

pytest.importorskip("aihwkit_lightning")

RRAM1 = devices.get("RRAM1")


# -- the noise -------------------------------------------------------------------------------------------------------
def lightning_linear_draws(weight: torch.Tensor, sigma: float, draws: int, noise="per_tensor") -> torch.Tensor:
    """aihwkit-lightning's noisy weights, read through its own layer's training forward (identity input: one
    forward, one draw, the whole weight)."""
    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    lin.weight.data.copy_(weight)
    layer = interop.lightning().convert_to_analog(lin, interop.rpu_config(RRAM1, sigma, noise=noise)).train()
    eye = torch.eye(weight.shape[1])
    with torch.no_grad():
        return torch.stack([layer(eye).T for _ in range(draws)])


def lightning_conv_draws(weight: torch.Tensor, sigma: float, draws: int) -> torch.Tensor:
    """The same through a 3x3 convolution: a batch of one-hot 3x3 patches reads every column of the weight."""
    out_ch, in_ch, k, _ = weight.shape
    conv = nn.Conv2d(in_ch, out_ch, k, bias=False)
    conv.weight.data.copy_(weight)
    layer = interop.lightning().convert_to_analog(conv, interop.rpu_config(RRAM1, sigma)).train()
    basis = torch.eye(in_ch * k * k).view(-1, in_ch, k, k)
    with torch.no_grad():
        return torch.stack([layer(basis).view(-1, out_ch).T.reshape(weight.shape) for _ in range(draws)])


def our_draws(weight: torch.Tensor, sigma: float, draws: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.stack([RRAM1.perturb(weight, sigma, g) for _ in range(draws)])


@pytest.mark.parametrize("sigma", [0.05, 0.14])
def test_weight_noise_matches_rram1_per_tensor(sigma):
    torch.manual_seed(0)
    w = torch.randn(64, 256) * 0.1
    theirs = lightning_linear_draws(w, sigma, 40) - w
    ours = our_draws(w, sigma, 40) - w
    expected = RRAM1.c * RRAM1.effective_sigma(sigma) * w.abs().max()
    # 655360 samples each: the std is known to about 0.1 %, so 1 % is a real test of the scale
    assert float(theirs.std()) == pytest.approx(float(expected), rel=0.01)
    assert float(ours.std()) == pytest.approx(float(expected), rel=0.01)
    assert float(theirs.std()) == pytest.approx(float(ours.std()), rel=0.01)
    assert abs(float(theirs.mean())) < 5 * float(expected) / np.sqrt(theirs.numel())
    # every weight gets the same std (max|W| of the whole tensor), rows of small and large weights alike
    per_row = theirs.std(dim=(0, 2))
    assert float(per_row.std() / per_row.mean()) < 0.05


def test_weight_noise_matches_rram1_in_a_convolution():
    torch.manual_seed(1)
    w = torch.randn(16, 8, 3, 3) * 0.2
    theirs = lightning_conv_draws(w, 0.1, 60) - w
    expected = RRAM1.c * RRAM1.effective_sigma(0.1) * w.abs().max()  # max over the whole 4-d tensor, like ours
    assert float(theirs.std()) == pytest.approx(float(expected), rel=0.01)
    assert float(theirs.std()) == pytest.approx(float((our_draws(w, 0.1, 60) - w).std()), rel=0.01)


def test_per_channel_noise_scales_each_row_by_its_own_max_unlike_ours():
    torch.manual_seed(2)
    w = torch.randn(32, 128) * torch.linspace(0.1, 1.0, 32).view(-1, 1)  # rows of very different ranges
    theirs = lightning_linear_draws(w, 0.1, 60, noise="per_channel") - w
    std_dev = interop.std_dev(RRAM1, 0.1)
    row_max = w.abs().amax(dim=1)
    np.testing.assert_allclose(theirs.std(dim=(0, 2)).numpy(), (std_dev * row_max).numpy(), rtol=0.03)
    ours = (our_draws(w, 0.1, 60) - w).std(dim=(0, 2))
    assert float(ours.min() / ours.max()) > 0.9  # ours: one std for the tensor, so the small rows differ by ~10x
    assert float(theirs.std(dim=(0, 2)).min() / theirs.std(dim=(0, 2)).max()) < 0.2


def test_std_dev_is_c_sigma_prime_and_noisier_middle_levels_are_refused():
    assert interop.std_dev(RRAM1, 0.1) == pytest.approx(RRAM1.c * 0.1)
    scaled = devices.DeviceCard.from_dict({**RRAM1.to_dict(), "sigma_scale": 2.0})
    assert interop.std_dev(scaled, 0.1) == pytest.approx(2 * RRAM1.c * 0.1)
    with pytest.raises(interop.InteropError, match="FeFET2.*s = 2.*middle_multiplier 1"):
        interop.std_dev(devices.get("FeFET2"), 0.1)
    assert interop.std_dev(devices.get("FeFET6").uniform(), 0.1) > 0


@pytest.mark.parametrize(
    "options, message",
    [
        ({"noise": "per_row"}, "noise is 'per_row'; allowed: per_tensor, per_channel"),
        ({"dac_bits": 4}, "dac_bits needs input_range: true"),
        ({"adc_bits": 1, "input_range": True}, "adc_bits is 1"),
        ({"clip_sigma": -1}, "clip_sigma"),
        ({"input_range": "yes"}, "input_range must be true or false"),
        ({"adc_bound": 0}, "adc_bound"),
    ],
)
def test_bad_method_parameters_are_rejected_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        build_method("aihwkit_hwa", options)


def test_extras_reach_the_rpu_config():
    cfg = interop.rpu_config(RRAM1, 0.1, clip_sigma=2.5, input_range=True, dac_bits=6, adc_bits=8, adc_bound=12)
    assert cfg.clip.type.name == "LAYER_GAUSSIAN" and cfg.clip.sigma == 2.5
    assert cfg.pre_post.input_range.enable
    assert cfg.forward.inp_res == 62 and cfg.forward.out_res == 254 and cfg.forward.out_bound == 12


# -- the twin and the method -----------------------------------------------------------------------------------------
def test_the_twin_shares_every_tensor_with_our_model():
    model = seeded_model("vgg8", SPEC, 0.0625, seed=0)
    twin = interop.analog_twin(model, interop.rpu_config(RRAM1, 0.1))
    ours = dict(model.named_parameters())
    for name, p in twin.named_parameters():
        assert p is ours[name], name
    buffers = dict(model.named_buffers())
    for name, b in twin.named_buffers():
        if name in buffers:
            assert b is buffers[name], name
    assert sum(1 for _ in twin.analog_layers()) == 8  # six convolutions, two linear layers
    twin.train()
    twin(torch.randn(4, 1, 16, 16))
    assert int(model.features[1].num_batches_tracked) == 1  # BN statistics land in our model


def test_aihwkit_hwa_trains_our_plain_model_reproducibly(tmp_path):
    state = torch.random.get_rng_state()
    rows, a = run(tmp_path / "a", method="aihwkit_hwa", sigma=0.1)
    assert torch.equal(torch.random.get_rng_state(), state)  # its seeded draws leave the global generator alone
    _, b = run(tmp_path / "b", method="aihwkit_hwa", sigma=0.1)
    fresh = seeded_model("vgg8", SPEC, 0.0625, seed=5)
    load_state_dict_strict(fresh, a, tmp_path / "a" / "model.pt")  # strict: exactly our model's keys
    assert all(torch.equal(a[k], b[k]) for k in a)
    init = seeded_model("vgg8", SPEC, 0.0625, seed=1).state_dict()
    assert not torch.equal(a["features.0.weight"], init["features.0.weight"])  # it did train our weights
    assert len(rows) == 2


def test_aihwkit_hwa_noise_differs_from_noise_free_training(tmp_path):
    _, noisy = run(tmp_path / "n", method="aihwkit_hwa", sigma=0.1)
    _, clean = run(tmp_path / "c", method="aihwkit_hwa", sigma=0.0)
    assert not torch.equal(noisy["features.0.weight"], clean["features.0.weight"])


def test_aihwkit_hwa_resumes_to_the_same_model(tmp_path):
    _, reference = run(tmp_path / "ref", method="aihwkit_hwa", epochs=3, sigma=0.1)

    def crash_in_epoch_two(message):
        if message.startswith("epoch 2/3"):
            raise KeyboardInterrupt

    state = tmp_path / "resume" / "state.pt"
    with pytest.raises(KeyboardInterrupt):
        run(
            tmp_path / "resume",
            method="aihwkit_hwa",
            epochs=3,
            sigma=0.1,
            state_path=state,
            fingerprint="f",
            log=crash_in_epoch_two,
        )
    load_tensors(state)  # weights_only: the resume state holds no aihwkit-lightning config object
    _, resumed = run(
        tmp_path / "resume",
        method="aihwkit_hwa",
        epochs=3,
        sigma=0.1,
        state_path=state,
        fingerprint="f",
        log=lambda m: None,
    )
    assert all(torch.equal(reference[k], resumed[k]) for k in reference)


def test_aihwkit_hwa_with_its_extras_trains(tmp_path):
    from neft.core.methods.aihwkit_hwa import AihwkitHWA  # noqa: F401  (registered kind)
    from neft.core.train import TrainData, Training, TrainOutputs, TrainSettings, train
    from tests.test_train import toy_splits

    method = build_method("aihwkit_hwa", {"clip_sigma": 2.5, "input_range": True, "dac_bits": 6, "adc_bits": 8})
    rows = train(
        seeded_model("vgg8", SPEC, 0.0625, seed=1),
        Training("vgg8", method, RRAM1, 0.1),
        TrainData(SPEC, toy_splits(), torch.device("cpu")),
        TrainSettings(epochs=1, batch_size=32, seed=1, selection_chips=1),
        TrainOutputs(tmp_path / "m.pt", tmp_path / "l.csv"),
    )
    state, _ = load_checkpoint(tmp_path / "m.pt")
    load_state_dict_strict(seeded_model("vgg8", SPEC, 0.0625, seed=0), state, "m.pt")  # the input ranges stay out
    assert np.isfinite(rows[0]["loss"])


# -- the export ------------------------------------------------------------------------------------------------------
def test_export_round_trip_gives_our_clean_logits():
    model = seeded_model("vgg8", SPEC, 0.0625, seed=3).eval()
    exported = interop.to_aihwkit_lightning(model, "RRAM1", 0.1)
    assert not exported.training
    x = torch.randn(8, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(exported(x), model(x), atol=1e-5, rtol=1e-5)
    layer = next(exported.analog_layers())
    assert layer.rpu_config.modifier.std_dev == pytest.approx(interop.std_dev(RRAM1, 0.1))
    exported.train()
    with torch.no_grad():
        assert not torch.allclose(exported(x), model.train()(x))  # in training mode it injects the noise


def test_export_from_a_workflow_checkpoint_reads_model_dataset_and_width(tmp_path):
    mnist_shape = seeded_model("vgg8", SPEC, 0.125, seed=0)  # SPEC is 16 px; MNIST (32 px) is read from the path
    from neft.core.data import get_spec

    spec = get_spec("mnist")
    net = seeded_model("vgg8", spec, 0.125, seed=4).eval()
    path = tmp_path / "results/models/vgg8/mnist/ovf/RRAM1/sigma~0.14/seed~4/model.pt"
    path.parent.mkdir(parents=True)
    torch.save(net.state_dict(), path)
    exported = interop.to_aihwkit_lightning(path, RRAM1, 0.14)
    x = torch.randn(4, spec.channels, spec.image_size, spec.image_size)
    with torch.no_grad():
        torch.testing.assert_close(exported(x), net(x), atol=1e-5, rtol=1e-5)
    elsewhere = tmp_path / "model.pt"
    torch.save(net.state_dict(), elsewhere)
    with pytest.raises(interop.InteropError, match="pass model= and dataset="):
        interop.to_aihwkit_lightning(elsewhere, RRAM1, 0.14)
    assert interop.to_aihwkit_lightning(elsewhere, RRAM1, 0.14, model="vgg8", dataset="mnist") is not None
    del mnist_shape


def test_export_reads_a_checkpoints_metadata_not_its_path(tmp_path):
    """A checkpoint written by neft.core.train carries its model, width and input shape: no results path, no arguments,
    and a dataset (the toy one) that no registry knows."""
    _, state = run(tmp_path / "anywhere", sigma=0.1)
    net = seeded_model("vgg8", SPEC, 0.0625, seed=0)
    load_state_dict_strict(net, state, "model.pt")
    exported = interop.to_aihwkit_lightning(tmp_path / "anywhere" / "model.pt", RRAM1, 0.1)
    x = torch.randn(4, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(exported(x), net.eval()(x), atol=1e-5, rtol=1e-5)
    with pytest.raises(Exception, match="width is 0.0625, expected 0.125"):
        interop.to_aihwkit_lightning(tmp_path / "anywhere" / "model.pt", RRAM1, 0.1, width=0.125)


# -- the cross-check table -------------------------------------------------------------------------------------------
def chip_rows(method, sigma, values_by_seed):
    return [
        {"model": "vgg8", "dataset": "mnist", "device": "RRAM1", "method": method, "sigma_train": sigma,
         "sigma_test": sigma, "seed": seed, "chip": chip, "accuracy": v}
        for seed, values in enumerate(values_by_seed)
        for chip, v in enumerate(values)
    ]  # fmt: skip


def test_crosscheck_pairs_per_seed_and_judges_each_sigma(tmp_path):
    rng = np.random.default_rng(0)
    base = [rng.normal(80, 3, 20) for _ in range(3)]
    rows = chip_rows("noise_injection", "0.07", base)
    rows += chip_rows("aihwkit_hwa", "0.07", [b + rng.normal(0, 0.5, 20) for b in base])  # same up to noise
    rows += chip_rows("noise_injection", "0.14", base)
    rows += chip_rows("aihwkit_hwa", "0.14", [b + 5 + s for s, b in enumerate(base)])  # clearly higher
    rows += chip_rows("noise_injection", "0.035", base)
    rows += chip_rows("aihwkit_hwa", "0.035", [b - 4 for b in base])  # clearly lower
    rows += chip_rows("noise_injection", "0.105", base)  # theirs not trained here: no row
    table = paired_table(pd.DataFrame(rows), "noise_injection", "aihwkit_hwa")
    assert list(table.sigma) == ["0.035", "0.07", "0.14"]
    by = table.set_index("sigma")
    assert by.loc["0.07", "agreement"] == AGREE
    assert by.loc["0.14", "agreement"] == THEIRS_HIGHER
    assert by.loc["0.035", "agreement"] == OURS_HIGHER
    assert by.loc["0.14", "diff"] == pytest.approx(6.0)  # mean of the per-seed differences 5, 6, 7
    half = 2.0 * 4.302652729911275 / np.sqrt(3) / 2  # t(0.975, 2) x sd(5, 6, 7) / sqrt(3)
    assert by.loc["0.14", "ci_high"] - by.loc["0.14", "diff"] == pytest.approx(half)
    assert (by.seeds == 3).all() and (by.chips == 60).all()
    write_crosscheck(table, {"aihwkit_hwa": "W/ Noise (aihwkit-lightning)"}, tmp_path / "c.csv", tmp_path / "c.md")
    text = (tmp_path / "c.md").read_text()
    assert "The interval contains 0 at 1 of 3 sigmas (3 training seeds x 20 chips per seed)" in text
    assert "| VGG-8 / MNIST / RRAM1 | 0.14 |" in text and "+6.00 [" in text
