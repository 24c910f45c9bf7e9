import pytest
import torch

from neft.core import devices
from neft.core.checkpoints import load_checkpoint
from neft.core.data import DatasetSpec, Split
from neft.core.methods import build_method
from neft.core.methods.base import Step
from neft.core.noise import NoisyForward
from neft.core.train import TrainData, Training, TrainOutputs, TrainSettings, seeded_model, train
from neft.util.io import load_state_dict_strict

SPEC = DatasetSpec.from_dict(
    "toy",
    {
        "format": "idx",
        "num_classes": 3,
        "channels": 1,
        "image_size": 16,
        "mean": [0.5],
        "std": [0.5],
        "files": {r: {"name": r, "md5": "0"} for r in ("train_images", "train_labels", "test_images", "test_labels")},
    },
)


def toy_splits(n=96):
    """Three classes that differ in brightness: learnable in a few steps."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (n,), generator=g)
    x = (y.view(-1, 1, 1, 1) * 100 + torch.randint(0, 40, (n, 1, 16, 16), generator=g)).to(torch.uint8)
    return {"train": Split(x, y), "val": Split(x[:32], y[:32]), "test": Split(x[:32], y[:32])}


def run(tmp_path, method="noise_injection", epochs=2, sigma=0.05, batch_size=32, state_path=None, fingerprint="", **kw):
    model = seeded_model("vgg8", SPEC, 0.0625, seed=1)
    rows = train(
        model,
        Training("vgg8", build_method(method), devices.get("RRAM1"), sigma),
        TrainData(SPEC, toy_splits(), torch.device("cpu")),
        TrainSettings(epochs=epochs, batch_size=batch_size, lr=1e-3, seed=1, selection_chips=1),
        TrainOutputs(tmp_path / "model.pt", tmp_path / "log.csv", state_path, fingerprint),
        **kw,
    )
    return rows, load_checkpoint(tmp_path / "model.pt")[0]


def test_training_writes_a_plain_state_dict_and_a_log(tmp_path):
    rows, state = run(tmp_path)
    fresh = seeded_model("vgg8", SPEC, 0.0625, seed=99)
    load_state_dict_strict(fresh, state, tmp_path / "model.pt")
    header = (tmp_path / "log.csv").read_text().splitlines()[0]
    assert header == "epoch,lr,loss,split,clean_acc,noisy_acc,seconds,selected"
    assert len(rows) == 2 and all(r["loss"] > 0 for r in rows)
    assert rows[1]["lr"] < rows[0]["lr"]  # cosine schedule


def test_training_is_deterministic(tmp_path):
    _, a = run(tmp_path / "a")
    _, b = run(tmp_path / "b")
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_training_learns(tmp_path):
    rows, _ = run(tmp_path, method="plain", epochs=4, sigma=0.0, batch_size=8)
    assert rows[-1]["clean_acc"] > 80


def test_resume_after_interruption_gives_the_same_model(tmp_path):
    _, reference = run(tmp_path / "ref", epochs=3)

    def crash_in_epoch_two(message):
        if message.startswith("epoch 2/3"):
            raise KeyboardInterrupt

    state = tmp_path / "resume" / "state.pt"
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "resume", epochs=3, state_path=state, fingerprint="f", log=crash_in_epoch_two)
    assert state.exists() and not (tmp_path / "resume" / "model.pt").exists()
    messages = []
    _, resumed = run(tmp_path / "resume", epochs=3, state_path=state, fingerprint="f", log=messages.append)
    assert any("resuming" in m for m in messages)
    assert not any(m.startswith("epoch 1/3") for m in messages)
    assert not state.exists()
    for k in reference:
        assert torch.equal(reference[k], resumed[k]), k


def test_resume_state_of_another_configuration_is_ignored(tmp_path):
    state = tmp_path / "state.pt"

    def stop(message):
        if message.startswith("epoch 2/2"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, state_path=state, fingerprint="one", log=stop)
    messages = []
    run(tmp_path, state_path=state, fingerprint="two", log=messages.append)
    assert any("another configuration" in m for m in messages)
    assert any(m.startswith("epoch 1/2") for m in messages)


def test_noise_injection_draws_fresh_noise_every_forward():
    model = seeded_model("vgg8", SPEC, 0.0625, seed=0)
    noisy = NoisyForward(model, devices.get("RRAM1"))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 1, 16, 16)
    model.eval()
    a, b = noisy(x, 0.1, g), noisy(x, 0.1, g)
    assert not torch.allclose(a, b)
    torch.testing.assert_close(noisy(x, 0.0, g), model(x))


def test_noise_injection_loss_backpropagates_straight_through():
    model = seeded_model("vgg8", SPEC, 0.0625, seed=0)
    method = build_method("noise_injection")
    step = Step(model, NoisyForward(model, devices.get("RRAM1")), 0.1, torch.Generator().manual_seed(0))
    loss = method.loss(step, torch.randn(4, 1, 16, 16), torch.tensor([0, 1, 2, 0]))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_method_registry_rejects_unknown_kinds_and_parameters():
    with pytest.raises(ValueError, match="allowed: aihwkit_hwa, correctnet, irs, noise_injection, ovf, plain"):
        build_method("dropout")
    with pytest.raises(ValueError, match="no parameter"):
        build_method("plain", {"beta": 1})
    assert build_method("noise_injection", {"temperature": 4}).temperature == 4


@pytest.mark.parametrize("field,value", [("selection_split", "train"), ("selection_metric", "x"), ("epochs", 0)])
def test_bad_settings_are_rejected(field, value):
    with pytest.raises(ValueError):
        TrainSettings(**{field: value})


def _damaged(kind: str, good: dict):
    """A resume state for fingerprint "f" damaged in one way (issue 26, class 5)."""
    if kind == "a list":
        return [1, 2, 3]
    if kind == "a tensor":
        return torch.zeros(3)
    bad = dict(good)
    if kind == "no optimizer":
        del bad["optimizer"]
    elif kind == "rows not a list":
        bad["rows"] = {"epoch": 1}
    elif kind == "epoch past the end":
        bad["epoch"] = 7
    elif kind == "weights of another shape":  # fails inside load_state_dict, after nothing else: rolled back
        bad["model"] = {k: v[..., :1] if v.ndim else v for k, v in good["model"].items()}
    elif kind == "a bad generator state":  # fails after model and optimizer were restored: rolled back
        bad["step_gen"] = torch.zeros(3, dtype=torch.uint8)
    return bad


DAMAGED = [
    "a list",
    "a tensor",
    "no optimizer",
    "rows not a list",
    "epoch past the end",
    "weights of another shape",
    "a bad generator state",
    "truncated",
]


@pytest.mark.parametrize("kind", DAMAGED)
def test_a_damaged_resume_state_is_named_and_the_training_starts_over(tmp_path, kind):
    """Never an AttributeError from inside the loop: the job logs the file and why, and trains from the first epoch
    to the very model a run without the state gives (a state that fails half-way restores nothing)."""
    _, reference = run(tmp_path / "ref")
    state = tmp_path / "job" / "state.pt"

    def stop(message):
        if message.startswith("epoch 2/2"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "job", state_path=state, fingerprint="f", log=stop)
    if kind == "truncated":
        state.write_bytes(state.read_bytes()[:1000])
    else:
        torch.save(_damaged(kind, torch.load(state, weights_only=True)), state)
    messages = []
    _, model = run(tmp_path / "job", state_path=state, fingerprint="f", log=messages.append)
    ignored = [m for m in messages if m.startswith(f"ignoring {state}: ")]
    assert ignored and ignored[0].endswith("training from the first epoch"), messages
    assert any(m.startswith("epoch 1/2") for m in messages)
    for k in reference:
        assert torch.equal(reference[k], model[k]), k
