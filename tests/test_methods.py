"""The NeFT loss, OVF, IRS and CorrectNet: hand computations and the properties the paper states."""

import math

import pytest
import torch
import torch.nn.functional as F

from neft.core import devices
from neft.core.methods import build_method
from neft.core.methods.base import Step
from neft.core.methods.correctnet import orthogonality_penalty
from neft.core.methods.irs import PAPER_TAPS
from neft.core.methods.neft_loss import PAPER_BETA, feedback_logits, gammas, neft_loss, resolve_beta
from neft.core.models import build_model
from neft.core.noise import NoisyForward


def test_gammas_are_powers_of_ten():
    assert gammas(4) == [1.0, 0.1, 0.01, 0.001]


def test_neft_loss_equals_a_hand_computation():
    out = torch.tensor([[2.0, 0.0, -1.0]])
    f1 = torch.tensor([[1.0, 1.0, 0.0]])
    f2 = torch.tensor([[0.0, 3.0, 1.0]])
    beta = 0.5
    z = [2.0 - 0.5 * 1.0 - 0.05 * 0.0, 0.0 - 0.5 * 1.0 - 0.05 * 3.0, -1.0 - 0.0 - 0.05 * 1.0]
    z = [v / 3 for v in z]  # divide by N + 1 = 3
    expected = -(z[0] - math.log(sum(math.exp(v) for v in z)))
    assert neft_loss(out, [f1, f2], torch.tensor([0]), beta).item() == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(feedback_logits(out, [f1, f2], beta), 3 * torch.tensor([z]))


def test_beta_zero_leaves_only_the_temperature():
    out = torch.randn(5, 4)
    y = torch.randint(0, 4, (5,))
    fb = [torch.randn(5, 4) for _ in range(3)]
    torch.testing.assert_close(neft_loss(out, fb, y, 0.0), F.cross_entropy(out / 4, y))


def test_paper_betas():
    assert len(PAPER_BETA) == 12
    assert resolve_beta("paper", "vgg8", "mnist", "ovf") == 1e-3
    assert resolve_beta("paper", "resnet18", "cifar10", "irs") == 1e-3
    assert resolve_beta(0.2, "vgg8", "mnist", "ovf") == 0.2
    with pytest.raises(ValueError, match="no beta"):
        resolve_beta("paper", "vgg8", "cifar100", "ovf")


class RecordingCard:
    """A device card that records the sigma of every layer it perturbs."""

    def __init__(self, card):
        self.card, self.calls = card, []

    def perturb(self, w, sigma, generator=None):
        self.calls.append(sigma)
        return self.card.perturb(w, sigma, generator)

    def __getattr__(self, name):
        return getattr(self.card, name)


def make_step(model_name="vgg8", sigma=0.1, method=None, card=None):
    model = build_model(model_name, 10, 1, 32, 0.0625)
    card = card or devices.get("RRAM1")
    aux = method.build_aux(model, card, model_name, 10, 32) if method is not None else None
    return Step(model, NoisyForward(model, card), sigma, torch.Generator().manual_seed(0), aux, model_name, "mnist")


@pytest.mark.parametrize("model_name", ["vgg8", "resnet18"])
def test_ovf_runs_one_plus_n_forwards_at_the_configured_sigmas(model_name):
    card = RecordingCard(devices.get("RRAM1"))
    step = make_step(model_name, 0.1, card=card)
    method = build_method("ovf", {"beta": 1e-3, "offsets": [0.15, 0.1, 0.05]})
    method.loss(step, torch.randn(4, 1, 32, 32), torch.tensor([0, 1, 2, 3]))
    n_layers = len(step.noisy.layers)
    assert len(card.calls) == 4 * n_layers
    passes = [card.calls[i * n_layers : (i + 1) * n_layers] for i in range(4)]
    for p, s in zip(passes, [0.1, 0.25, 0.2, 0.15]):
        assert p == pytest.approx([s] * n_layers)


def test_ovf_authors_switch_raises_only_stem_and_classifier_on_resnet():
    card = RecordingCard(devices.get("RRAM1"))
    step = make_step("resnet18", 0.1, card=card)
    build_method("ovf", {"beta": 1e-3, "raise_in": "authors"}).loss(
        step, torch.randn(2, 1, 32, 32), torch.tensor([0, 1])
    )
    n = len(step.noisy.layers)
    first_oriented = card.calls[n : 2 * n]
    assert first_oriented[0] == pytest.approx(0.25) and first_oriented[-1] == pytest.approx(0.25)
    assert first_oriented[1:-1] == pytest.approx([0.1] * (n - 2))
    card.calls.clear()
    vgg = make_step("vgg8", 0.1, card=card)
    build_method("ovf", {"beta": 1e-3, "raise_in": "authors"}).loss(
        vgg, torch.randn(2, 1, 32, 32), torch.tensor([0, 1])
    )
    m = len(vgg.noisy.layers)
    assert card.calls[m : 2 * m] == pytest.approx([0.25] * m)  # VGG-8: every layer, as in the authors' code


def test_ovf_feedback_passes_use_fresh_noise():
    step = make_step("vgg8", 0.0)
    step.model.eval()
    x = torch.randn(2, 1, 32, 32)
    a = step.noisy(x, 0.15, step.generator)
    b = step.noisy(x, 0.15, step.generator)
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("model_name,shapes", [("vgg8", 3), ("resnet18", 4)])
def test_irs_heads_have_the_paper_taps_and_output_shapes(model_name, shapes):
    method = build_method("irs", {"beta": 1e-2})
    step = make_step(model_name, 0.1, method=method)
    heads = step.aux
    assert heads.taps == [t for t, _ in PAPER_TAPS[model_name]]
    assert len(heads.heads) == shapes
    pools = [h[0].output_size for h in heads.heads]
    assert pools == [p for _, p in PAPER_TAPS[model_name]]
    assert all(h[2].out_features == 512 and h[4].out_features == 10 for h in heads.heads)
    heads.active = True
    step.model(torch.randn(3, 1, 32, 32))
    heads.active = False
    outs = heads([heads.captured[t] for t in heads.taps])
    assert [tuple(o.shape) for o in outs] == [(3, 10)] * shapes


@pytest.mark.parametrize("model_name", ["vgg8", "resnet18"])
def test_irs_gradients_reach_every_head_and_the_backbone(model_name):
    method = build_method("irs", {"beta": 0.1})
    step = make_step(model_name, 0.1, method=method)
    loss = method.loss(step, torch.randn(4, 1, 32, 32), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    for name, p in list(step.model.named_parameters()) + list(step.aux.named_parameters()):
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_irs_heads_are_noisy_with_uniform_levels():
    method = build_method("irs", {"beta": 0.1})
    step = make_step("vgg8", 0.1, method=method, card=devices.get("FeFET6"))
    assert method._noisy_heads.card.middle_multiplier == 1.0
    assert step.noisy.card.middle_multiplier == 6.0


def test_irs_checkpoint_is_the_plain_backbone():
    method = build_method("irs", {"beta": 0.1})
    step = make_step("vgg8", 0.1, method=method)
    plain = build_model("vgg8", 10, 1, 32, 0.0625)
    plain.load_state_dict(step.model.state_dict(), strict=True)


def test_correctnet_penalty_of_orthogonal_and_non_orthogonal_matrices():
    q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    assert orthogonality_penalty(q).item() == pytest.approx(0, abs=1e-10)
    m = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)  # V^T V - I = diag(3, 0)
    assert orthogonality_penalty(m).item() == pytest.approx(9.0)
    wide = torch.randn(3, 7, dtype=torch.float64)  # the Gram shortcut equals the definition
    direct = ((wide.T @ wide - torch.eye(7, dtype=torch.float64)) ** 2).sum()
    assert orthogonality_penalty(wide).item() == pytest.approx(direct.item())
    conv = torch.randn(4, 2, 3, 3, dtype=torch.float64)  # per 3x3 kernel slice
    v = conv.view(-1, 3, 3)
    direct = ((v.transpose(1, 2) @ v - torch.eye(3, dtype=torch.float64)) ** 2).sum()
    assert orthogonality_penalty(conv).item() == pytest.approx(direct.item())


@pytest.mark.parametrize("kind", ["plain", "noise_injection", "correctnet", "ovf", "irs"])
@pytest.mark.parametrize("model_name", ["vgg8", "resnet18"])
def test_every_method_trains_a_step_without_nans(kind, model_name):
    method = build_method(kind, {"beta": 1e-2} if kind in ("ovf", "irs") else {})
    step = make_step(model_name, 0.1, method=method)
    params = list(step.model.parameters()) + (list(step.aux.parameters()) if step.aux is not None else [])
    opt = torch.optim.Adam(params, 1e-3)
    loss = method.loss(step, torch.randn(8, 1, 32, 32), torch.randint(0, 10, (8,)))
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p).all() for p in params)
