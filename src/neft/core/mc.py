"""Monte-Carlo evaluation over simulated chips: the hot loop of the whole workflow.

A chip is a seed: the noise of chip ``k`` at sigma ``s`` on device ``d`` is drawn, layer by layer, from
``derive_seed(base_seed, d, s, k, layer)``. It does not depend on the method, the loop order or the job that runs
it, so every method is measured on the same chips (paired comparisons) and any chip can be replayed alone, or taken
out as a state_dict of the original model (:func:`export_chip`).

The model is loaded once; BatchNorm is folded into the preceding convolution (exact up to float rounding); test
data stay resident on the device; on a CPU, each convolution followed by a ReLU runs as one oneDNN call with the
ReLU as a post-op (bitwise equal, 0-8 % faster on narrow VGG-8); per chip, each noisy weight is
``folded + scale * eps`` written in place, where ``scale`` (the per-element noise std times the BN factor) is
computed once per sigma.

With ``chips_per_pass`` K > 1, chips run in blocks of K: each chip's noise is drawn exactly as above (same seeds, same
contiguous ``eps``, so chip k's noisy weights are bitwise those of the one-chip path) into its slice of a stacked
copy of the noisy weights, and one forward per test batch runs all K chips at once (``torch.func.vmap`` of
``functional_call`` over the stacked weights; PyTorch turns each conv into one wide or grouped conv). The rows equal
the one-chip path's within float rounding (other kernels), not bitwise. Memory: K copies of the noisy weights and K
copies of one batch's activations (``mc.batch_size`` bounds the latter), plus the block's logits. The oneDNN
conv+ReLU fusion is not vmappable and is off then; bf16 runs as explicit bf16 weights and inputs (autocast does not
reach inside vmap).
"""

from __future__ import annotations

import copy
import numbers
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, fields

import numpy as np
import torch
import torch.fx
from torch import nn
from torch.func import functional_call, vmap

from neft.core import devices
from neft.core.checkpoints import load_model
from neft.core.devices import DeviceCard
from neft.core.models import noisy_weight_names
from neft.core.nonideal import calibrate, converters, read_seed, stuck_seed, stuck_shift
from neft.util.checks import finite_number
from neft.util.seeding import derive_seed
from neft.util.sigma import format_sigma, sigma_float
from neft.util.stats import ci_half_width

PRECISIONS = ("fp32", "bf16", "tf32")
#: Each integer setting's inclusive bounds: the config schema's (workflow/schemas/config.schema.yaml, ``mc``;
#: tests/test_api_arguments.py checks they agree), except ``seed``, which also takes the 63-bit seeds
#: ``neft.util.seeding.derive_seed`` gives (the training's selection chips); the config's is at most 2^31 - 1.
INT_BOUNDS = {
    "chips": (1, 1_000_000),
    "seed": (0, 2**63 - 1),
    "batch_size": (1, 1_048_576),
    "ekl_bootstrap": (0, 10_000),
    "chips_per_pass": (1, 4096),
}
#: The true/false settings.
FLAGS = ("fold_bn", "full_grid", "compile")
#: ``mc.adaptive``'s keys; the chip counts' bounds are the schema's.
ADAPTIVE_KEYS = ("enabled", "ci_half_width", "min_chips", "max_chips")
ADAPTIVE_CHIPS = (2, 1_000_000)


def _integer(what: str, value, lo: int, hi: int) -> int:
    """``value`` if it is an integer in [lo, hi] (numpy's too; a bool or 2.5 is not), else a ValueError that names
    ``what``, the value and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not lo <= value <= hi:
        integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        kind = "" if integral else f" (type {type(value).__name__})"
        top = "2^63 - 1" if hi == 2**63 - 1 else hi
        raise ValueError(f"{what} is {value!r}{kind}; allowed: an integer in [{lo}, {top}]")
    return value


def chip_seed(base_seed: int, device_name: str, sigma, chip: int, layer: str) -> int:
    return derive_seed("chip", base_seed, device_name, format_sigma(sigma), chip, layer)


def fold_batchnorm(model: nn.Module) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """Fold every eval-mode BatchNorm2d that directly follows a Conv2d into that conv.

    Returns the folded module (an FX GraphModule with the original parameter names) and, per folded conv weight,
    the per-output-channel factor gamma / sqrt(var + eps) that multiplies both the weight and its noise.
    """
    gm = torch.fx.symbolic_trace(copy.deepcopy(model).eval())
    modules = dict(gm.named_modules())
    factors: dict[str, torch.Tensor] = {}
    for node in list(gm.graph.nodes):
        if node.op != "call_module" or not isinstance(modules[node.target], nn.BatchNorm2d):
            continue
        prev = node.args[0]
        if not (
            isinstance(prev, torch.fx.Node)
            and prev.op == "call_module"
            and isinstance(modules[prev.target], nn.Conv2d)
            and len(prev.users) == 1
        ):
            continue
        conv, bn = modules[prev.target], modules[node.target]
        with torch.no_grad():
            a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            conv.weight.mul_(a.view(-1, 1, 1, 1))
            conv.bias = nn.Parameter((bias - bn.running_mean) * a + bn.bias)
        factors[f"{prev.target}.weight"] = a.detach().clone()
        node.replace_all_uses_with(prev)
        gm.graph.erase_node(node)
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm, factors


def _conv_relu(x, weight, bias, stride, padding, dilation, groups):
    return torch.ops.mkldnn._convolution_pointwise(x, weight, bias, padding, stride, dilation, groups, "relu", [], "")


def can_fuse_conv_relu(device: torch.device) -> bool:
    return device.type == "cpu" and torch.backends.mkldnn.is_available()


def fuse_conv_relu(model: nn.Module) -> torch.fx.GraphModule:
    """Replace every Conv2d whose only user is a ReLU by one oneDNN convolution with a ReLU post-op (CPU only).

    The fused call reads the conv's own parameters (``get_attr``), so noise written in place into them is seen; the
    parameter names do not change. The ReLU saved is a full pass over the activation, a few per cent of a narrow
    model's forward.
    """
    gm = model if isinstance(model, torch.fx.GraphModule) else torch.fx.symbolic_trace(model)
    modules = dict(gm.named_modules())
    for node in list(gm.graph.nodes):
        is_relu = (node.op == "call_module" and isinstance(modules.get(node.target), nn.ReLU)) or (
            node.op == "call_function" and node.target in (torch.relu, torch.nn.functional.relu)
        )
        if not is_relu:
            continue
        prev = node.args[0]
        conv = modules.get(prev.target) if isinstance(prev, torch.fx.Node) and prev.op == "call_module" else None
        if not (
            isinstance(conv, nn.Conv2d)
            and len(prev.users) == 1
            and conv.padding_mode == "zeros"
            and not isinstance(conv.padding, str)
        ):
            continue
        with gm.graph.inserting_before(prev):
            weight = gm.graph.get_attr(f"{prev.target}.weight")
            bias = gm.graph.get_attr(f"{prev.target}.bias") if conv.bias is not None else None
            fused = gm.graph.call_function(
                _conv_relu,
                (prev.args[0], weight, bias, list(conv.stride), list(conv.padding), list(conv.dilation), conv.groups),
            )
        node.replace_all_uses_with(fused)
        gm.graph.erase_node(node)
        gm.graph.erase_node(prev)
    gm.graph.lint()
    gm.recompile()
    return gm


@dataclass
class ChipStats:
    """Streams per-chip rows and the per-example sums that the expected KL needs (no second pass).

    With ``bootstrap`` B > 0 it also keeps B Poisson-bootstrap replicates of those sums over chips (each chip enters
    replicate b with a Poisson(1) weight drawn from ``(bootstrap_seed, chip order)``), so ``uncertainty`` can give the
    expected KL's standard error over chips. The Poisson bootstrap needs no chip count up front (adaptive sweeps
    stop early) and a prefix of chips gives a prefix of weights. Memory: 2 B x test images x classes float32.
    """

    n: int
    classes: int
    device: torch.device
    rows: list[dict] = field(default_factory=list)
    bootstrap: int = 0
    bootstrap_seed: int = 0

    def __post_init__(self) -> None:
        z = dict(dtype=torch.float64, device=self.device)
        self.sum_p = torch.zeros(self.n, self.classes, **z)
        self.sum_logp = torch.zeros(self.n, self.classes, **z)
        self.sum_entropy = torch.zeros(self.n, **z)
        if self.bootstrap:
            b = dict(dtype=torch.float32, device=self.device)
            self.boot_p = torch.zeros(self.bootstrap, self.n, self.classes, **b)
            self.boot_logp = torch.zeros(self.bootstrap, self.n, self.classes, **b)
            self.boot_weight = torch.zeros(self.bootstrap, dtype=torch.float64)
            self._weights = None

    def _chip_weights(self) -> torch.Tensor:
        """This chip's Poisson(1) weight in each replicate, drawn once per chip from its place in the sweep."""
        if self._weights is None:
            rng = np.random.default_rng([self.bootstrap_seed, len(self.rows)])
            w = rng.poisson(1.0, self.bootstrap).astype(np.float64)
            self.boot_weight += torch.from_numpy(w)
            self._weights = torch.from_numpy(w).to(device=self.device, dtype=torch.float32)
        return self._weights

    def add_batch(self, start: int, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logp = torch.log_softmax(logits.double(), dim=1)
        p = logp.exp()
        end = start + len(y)
        self.sum_p[start:end] += p
        self.sum_logp[start:end] += logp
        self.sum_entropy[start:end] -= torch.special.xlogy(p, p).sum(1)
        if self.bootstrap:
            w = self._chip_weights()[:, None, None]
            self.boot_p[:, start:end] += w * p.float()
            self.boot_logp[:, start:end] += w * logp.float()
        conf, pred = p.max(1)
        hit = pred == y
        return hit.sum(), conf.sum(), (conf * hit).sum()

    def finish_chip(self, chip: int, correct: torch.Tensor, conf: torch.Tensor, conf_hit: torch.Tensor) -> dict:
        c = int(correct)
        row = {
            "chip": chip,
            "correct": c,
            "n": self.n,
            "accuracy": 100.0 * c / self.n,
            "confidence": float(conf) / self.n,
            "confidence_correct": float(conf_hit) / c if c else float("nan"),
        }
        self.rows.append(row)
        if self.bootstrap:
            self._weights = None
        return row

    def uncertainty(self) -> dict:
        """Expected KL E_x E_chip[KL(mean softmax || chip softmax)] and mutual information (BALD), in nats; with a
        bootstrap, ``ekl_se``: the std of the expected KL over the replicates (NaN below two chips)."""
        k = len(self.rows)
        if k == 0:
            return {"chips": 0, "ekl": float("nan"), "mutual_info": float("nan")}
        mean_p = self.sum_p / k
        ekl = (torch.special.xlogy(mean_p, mean_p) - mean_p * (self.sum_logp / k)).sum(1)
        entropy_mean = -torch.special.xlogy(mean_p, mean_p).sum(1)
        mi = entropy_mean - self.sum_entropy / k
        out = {"chips": k, "ekl": float(ekl.mean()), "mutual_info": float(mi.mean())}
        if self.bootstrap:
            out |= {"ekl_se": self._ekl_se(k), "ekl_bootstrap": self.bootstrap}
        return out

    def _ekl_se(self, k: int) -> float:
        if k < 2:
            return float("nan")
        replicates = []
        for b in range(self.bootstrap):
            w = float(self.boot_weight[b])
            if w == 0:  # no chip drawn into this replicate (likely only with very few chips): no estimate
                continue
            mean_p = self.boot_p[b].double() / w
            mean_logp = self.boot_logp[b].double() / w
            replicates.append(float((torch.special.xlogy(mean_p, mean_p) - mean_p * mean_logp).sum(1).mean()))
        return float(np.std(replicates, ddof=1)) if len(replicates) > 1 else float("nan")


@dataclass(frozen=True)
class McSettings:
    """The Monte-Carlo settings, the config's ``mc`` section, typed. Each default is stated here once and equals the
    schema's (``workflow/schemas/config.schema.yaml``; tests/test_mc_settings.py checks every field on every preset),
    so the Python API (``ChipEvaluator``, ``export_chip``, ``neft.jobs.runs``) draws the workflow's chips for the same
    settings."""

    chips: int = 1000
    seed: int = 2023
    batch_size: int = 1000
    fold_bn: bool = True
    full_grid: bool = False
    ekl_bootstrap: int = 100
    precision: str = "fp32"
    compile: bool = False
    chips_per_pass: int = 1
    #: the adaptive chip count (``mc.adaptive``: enabled, ci_half_width, min_chips, max_chips); {} = off
    adaptive: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Every field checked as the config schema checks ``mc`` (``INT_BOUNDS``, ``FLAGS``, ``PRECISIONS``,
        ``ADAPTIVE_KEYS``), so the Python API refuses what the config refuses; the values are kept as given."""
        for name, (lo, hi) in INT_BOUNDS.items():
            _integer(f"mc.{name}", getattr(self, name), lo, hi)
        for name in FLAGS:
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ValueError(f"mc.{name} is {value!r} (type {type(value).__name__}); allowed: True or False")
        if not isinstance(self.precision, str) or self.precision not in PRECISIONS:
            raise ValueError(f"mc.precision is {self.precision!r}; allowed: {', '.join(PRECISIONS)}")
        _check_adaptive(self.adaptive)

    @classmethod
    def from_config(cls, mc) -> McSettings:
        """From a (validated) ``mc`` mapping: missing keys take the defaults above, an unknown key is an error."""
        if isinstance(mc, cls):
            return mc
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(mc) - set(names))
        if unknown:
            raise ValueError(f"mc: unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(names)}")
        return cls(**dict(mc))

    @classmethod
    def from_params(cls, mc) -> McSettings:
        """From a Monte-Carlo rule's ``params.mc`` (``mc_slice`` in workflow/rules/common.smk), which leaves an
        option out when it is off so that finished sweeps stay fresh: a missing ``ekl_bootstrap`` there means none
        (0); every other missing key means its default, which is its off value."""
        if isinstance(mc, cls):
            return mc
        return cls.from_config({"ekl_bootstrap": 0, **dict(mc)})

    def params(self) -> dict:
        """The rule params Snakemake tracks for a Monte-Carlo job: the settings that change the chips' numbers, with
        every option at its off value left out, so turning nothing new on never reruns finished sweeps (and an
        adaptive count replaces ``chips``, which then changes nothing). :meth:`from_params` reads them back."""
        out = {"chips": self.chips, "seed": self.seed, "batch_size": self.batch_size, "fold_bn": self.fold_bn}
        if self.precision != "fp32":
            out["precision"] = self.precision
        if self.compile:
            out["compile"] = True
        if self.chips_per_pass != 1:
            out["chips_per_pass"] = self.chips_per_pass
        if self.ekl_bootstrap:
            out["ekl_bootstrap"] = self.ekl_bootstrap  # the expected KL's chip-bootstrap error in each sweep
        if self.adaptive_enabled:
            del out["chips"]
            out["adaptive"] = self.adaptive
        return out

    @property
    def adaptive_enabled(self) -> bool:
        return bool(self.adaptive.get("enabled"))

    @property
    def chip_budget(self) -> int:
        """Chips a sweep evaluates at most: ``adaptive.max_chips`` when the adaptive count is on, else ``chips``."""
        return int(self.adaptive["max_chips"]) if self.adaptive_enabled else int(self.chips)


def _check_adaptive(adaptive, what: str = "mc.adaptive") -> None:
    """``mc.adaptive`` as the schema takes it: a mapping of ``ADAPTIVE_KEYS`` ({} = off); when enabled, with a
    ci_half_width > 0 and chip counts in ``ADAPTIVE_CHIPS``, min_chips <= max_chips."""
    if not isinstance(adaptive, dict):
        raise ValueError(f"{what} is {adaptive!r}; allowed: a dict with keys {', '.join(ADAPTIVE_KEYS)} ({{}}: off)")
    unknown = [str(k) for k in adaptive if k not in ADAPTIVE_KEYS]
    if unknown:
        raise ValueError(f"{what}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(ADAPTIVE_KEYS)}")
    enabled = adaptive.get("enabled")  # absent: off, as adaptive_enabled reads it
    if enabled is not None and not isinstance(enabled, bool):
        raise ValueError(f"{what}.enabled is {enabled!r}; allowed: True or False")
    if not enabled:
        return
    missing = [k for k in ADAPTIVE_KEYS[1:] if k not in adaptive]
    if missing:
        raise ValueError(f"{what} is enabled without {', '.join(missing)}; it needs {', '.join(ADAPTIVE_KEYS[1:])}")
    finite_number(adaptive["ci_half_width"], f"{what}.ci_half_width", above=0)
    for key in ("min_chips", "max_chips"):
        _integer(f"{what}.{key}", adaptive[key], *ADAPTIVE_CHIPS)
    if adaptive["min_chips"] > adaptive["max_chips"]:
        raise ValueError(
            f"{what}.min_chips ({adaptive['min_chips']}) exceeds {what}.max_chips ({adaptive['max_chips']})"
        )


def _check_stop_rule(adaptive) -> None:
    """``evaluate``'s ``adaptive``: a mapping with the two keys the stop reads, ci_half_width > 0 and min_chips (an
    integer in ``ADAPTIVE_CHIPS``); ``mc.adaptive`` (its other keys included) is one."""
    if not isinstance(adaptive, dict) or not {"ci_half_width", "min_chips"} <= set(adaptive):
        raise ValueError(
            f"adaptive is {adaptive!r}; allowed: None, or a dict with ci_half_width (> 0) and min_chips (an integer "
            f"in [{ADAPTIVE_CHIPS[0]}, {ADAPTIVE_CHIPS[1]}]), such as mc.adaptive"
        )
    finite_number(adaptive["ci_half_width"], "adaptive.ci_half_width", above=0)
    _integer("adaptive.min_chips", adaptive["min_chips"], *ADAPTIVE_CHIPS)


def _chip_index(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0


def _check_chips(chips) -> None:
    """``evaluate``'s chips: a count >= 1 (chips 0..count-1), or a non-empty range, list or tuple of chip indices
    >= 0. Checked once per call, never per chip."""
    if isinstance(chips, numbers.Integral) and not isinstance(chips, bool):
        why = "" if 1 <= chips <= INT_BOUNDS["chips"][1] else f"chips is {chips!r}"
    elif isinstance(chips, (range, list, tuple)):
        ends = (chips[0], chips[-1]) if isinstance(chips, range) and chips else chips  # a range's smallest: an end
        bad = [c for c in ends if not _chip_index(c)]
        why = f"chips is {chips!r}"[:200] + (f" (its chip {bad[0]!r})" if bad else "") if bad or not chips else ""
    else:
        why = f"chips is {chips!r} (type {type(chips).__name__})"[:200]
    if why:
        raise ValueError(
            f"{why}; allowed: a chip count, an integer in [1, {INT_BOUNDS['chips'][1]}] (chips 0..count-1), or a "
            "non-empty range, list or tuple of chip indices >= 0"
        )


class ChipEvaluator:
    """One trained model on many chips of one device card; load once, then ``evaluate(sigma, chips)``."""

    def __init__(
        self,
        model: nn.Module,
        card: DeviceCard,
        x: torch.Tensor,
        y: torch.Tensor,
        settings: McSettings | None = None,
        *,
        fuse: bool | None = None,
        seed_name: str | None = None,
        calibration: torch.Tensor | None = None,
    ) -> None:
        """``model`` on chips of ``card``, tested on images ``x`` (preprocessed) with labels ``y``, on ``x``'s device.
        ``settings``: the Monte-Carlo settings (``McSettings``: batch size, BN folding, chip seed, precision,
        compilation, chips per pass, expected-KL bootstrap), the workflow's defaults when None, so the same settings
        draw the workflow's chips. ``fuse``: the oneDNN conv+ReLU fusion (None: where it helps); ``seed_name``: the
        card name chip seeds derive from (another card's, to evaluate its chips under a changed card);
        ``calibration``: images that fix DAC/ADC ranges (cards with converter bits)."""
        settings = McSettings() if settings is None else settings
        _check_evaluator_arguments(model, card, x, y, settings, fuse, seed_name, calibration)
        batch_size, fold_bn, base_seed = settings.batch_size, settings.fold_bn, settings.seed
        precision, compile, chips_per_pass = settings.precision, settings.compile, settings.chips_per_pass
        ekl_bootstrap, device = settings.ekl_bootstrap, x.device
        if fuse and chips_per_pass > 1:
            raise ValueError("conv+ReLU fusion (a oneDNN call) cannot run under vmap: use fuse with chips_per_pass 1")
        # non-idealities beyond programming variation (neft.core.nonideal): one chip per pass, no oneDNN fusion (the ADC
        # sits between the conv and its ReLU); a card without them takes the code path below unchanged
        self.nonideal = card.nonideal
        if self.nonideal and chips_per_pass > 1:
            raise ValueError(
                f"device card {card.name!r} has non-idealities ({', '.join(self.nonideal)}): they run one chip per "
                "pass; set mc.chips_per_pass to 1"
            )
        if self.nonideal and fuse:
            raise ValueError("conv+ReLU fusion cannot run with non-idealities (the ADC sits between conv and ReLU)")
        converting = card.dac_bits is not None or card.adc_bits is not None
        if converting and calibration is None:
            raise ValueError(f"device card {card.name!r} has DAC/ADC bits: their ranges need calibration images")
        self.chips_per_pass = chips_per_pass
        #: Poisson-bootstrap replicates of the expected KL over chips (ChipStats), 0 for none
        self.ekl_bootstrap = int(ekl_bootstrap)
        #: the name chip seeds are derived from: the card's own, or another card's to evaluate the same chips
        #: under a changed card (a drift time, a non-ideality)
        self.seed_name = seed_name or card.name
        self.device = torch.device(device)
        self.precision = precision
        self.card = card
        self.base_seed = base_seed
        self.layers = noisy_weight_names(model)
        self.clean = {n: p.detach().to(self.device).clone() for n, p in model.named_parameters() if n in self.layers}
        model = copy.deepcopy(model).eval().to(self.device)
        self.factors: dict[str, torch.Tensor] = {}
        if fold_bn:
            model, self.factors = fold_batchnorm(model)
        if fuse is None:  # fusing would bypass autocast and inductor's own fusion
            fuse = (
                can_fuse_conv_relu(self.device)
                and precision != "bf16"
                and not compile
                and chips_per_pass == 1
                and not self.nonideal
            )
        if fuse:
            model = fuse_conv_relu(model)
        self.model = model.to(memory_format=torch.channels_last)
        params = dict(self.model.named_parameters())
        self.live = {n: params[n] for n in self.layers}
        self.base = {n: p.detach().clone() for n, p in self.live.items()}
        # contiguous on purpose: randn fills memory in order, so this layout keeps eps[i] = the i-th draw, as in
        # DeviceCard.perturb, whatever memory format the weights use
        self.eps = {n: torch.empty(p.shape, dtype=p.dtype, device=p.device) for n, p in self.live.items()}
        self.x, self.y = x.to(self.device), y.to(self.device)
        self.batch_size = batch_size
        self.generator = torch.Generator(device=self.device)
        self.scale: dict[str, torch.Tensor] = {}
        self.sigma = None
        # compiled once per job; batch sizes that divide the test set avoid a recompile on a partial last batch
        self.forward = torch.compile(self.model, dynamic=False) if compile else self.model
        self.ranges = {}
        if converting:  # the clean folded model on the calibration images, before any chip is loaded
            self.ranges = calibrate(self.model, self.layers, calibration.to(self.device), batch_size)
        self.chip = None
        self.programmed: dict[str, torch.Tensor] = {}
        if chips_per_pass > 1:
            # chip j of a block lives in slice j, with the weight's own strides (same kernels as the one-chip path)
            self.stack = {n: _stacked_like(p, chips_per_pass) for n, p in self.base.items()}
            low = torch.bfloat16 if precision == "bf16" else None
            # bf16: every other float tensor (biases; an unfolded BatchNorm's affine and statistics) cast once
            state = [*params.items(), *self.model.named_buffers()] if low else []
            self.fixed = {n: t.detach().to(low) for n, t in state if n not in self.live and t.is_floating_point()}
            batched = vmap(lambda p, q, x: functional_call(self.model, (p, q), (x,)), in_dims=(0, None, None))
            # forward_block(stacked, fixed, x): logits of every chip in the stack, chips x batch x classes; compiled,
            # a partial last block (another K) compiles once more
            self.forward_block = torch.compile(batched, dynamic=False) if compile else batched

    def set_sigma(self, sigma, seed_sigma=None) -> None:
        """Noise scales for ``sigma``; chip seeds from ``seed_sigma`` when given (the same chips evaluated at a
        scaled sigma: a drift time), else from ``sigma``."""
        self.sigma = format_sigma(sigma if seed_sigma is None else seed_sigma)
        s = sigma_float(sigma)
        self.scale = {}
        for n in self.layers:
            scale = self.card.noise_scale(self.clean[n], s) if s else torch.zeros_like(self.clean[n])
            if n in self.factors:
                scale = scale * self.factors[n].view(-1, *([1] * (scale.dim() - 1)))
            self.scale[n] = torch.empty_like(self.base[n]).copy_(scale)  # same strides as the weight

    @torch.no_grad()
    def load_chip(self, chip: int) -> None:
        for n in self.layers:
            self.generator.manual_seed(chip_seed(self.base_seed, self.seed_name, self.sigma, chip, n))
            eps = self.eps[n]
            torch.randn(eps.shape, generator=self.generator, out=eps)
            torch.addcmul(self.base[n], self.scale[n], eps, out=self.live[n].data)
        self.chip = chip
        if self.card.stuck_fraction:
            for n in self.layers:
                self.generator.manual_seed(stuck_seed(self.base_seed, self.seed_name, chip, n))
                shift = stuck_shift(self.clean[n], self.card, self.generator)
                if n in self.factors:
                    shift = shift * self.factors[n].view(-1, *([1] * (shift.dim() - 1)))
                self.live[n].data.add_(shift)
        if self.card.read_noise:  # the chip's programmed weights and its per-element read std, once per chip
            self.programmed = {n: p.detach().clone() for n, p in self.live.items()}
            self.read_std = {n: p.abs().mul_(self.card.read_noise) for n, p in self.programmed.items()}

    @torch.no_grad()
    def read(self, index: int) -> None:
        """Read ``index`` of the loaded chip: fresh read noise on its programmed weights (``neft.core.nonideal``)."""
        for n in self.layers:
            self.generator.manual_seed(read_seed(self.base_seed, self.seed_name, self.sigma, self.chip, n, index))
            xi = self.eps[n]
            torch.randn(xi.shape, generator=self.generator, out=xi)
            torch.addcmul(self.programmed[n], self.read_std[n], xi, out=self.live[n].data)

    @torch.no_grad()
    def load_block(self, chips: list[int]) -> None:
        """Chip ``chips[j]``'s noisy weights into slice j of the stack, drawn exactly as ``load_chip`` draws them."""
        for j, chip in enumerate(chips):
            for n in self.layers:
                self.generator.manual_seed(chip_seed(self.base_seed, self.seed_name, self.sigma, chip, n))
                eps = self.eps[n]
                torch.randn(eps.shape, generator=self.generator, out=eps)
                torch.addcmul(self.base[n], self.scale[n], eps, out=self.stack[n][j])

    def block_logits(self, k: int):
        """Logits of the whole test set on the first ``k`` chips of the stack, batch by batch (fp32 out, chips x
        batch x classes), one forward per batch for all of them."""
        low = torch.bfloat16 if self.precision == "bf16" else None
        with torch.inference_mode():
            stacked = {n: (s[:k].to(low) if low else s[:k]) for n, s in self.stack.items()}
        arithmetic = nullcontext() if low else _tf32(self.precision == "tf32")
        with torch.inference_mode(), arithmetic, warnings.catch_warnings():
            # channels_last adaptive_avg_pool2d falls back to a per-chip loop on a tiny tensor; say nothing of it
            warnings.filterwarnings("ignore", message="There is a performance drop because we have not yet implemented")
            for start in range(0, len(self.y), self.batch_size):
                xb = self.x[start : start + self.batch_size]
                out = self.forward_block(stacked, self.fixed, xb.to(low) if low else xb)
                yield start, out.float(), self.y[start : start + self.batch_size]

    def arithmetic(self):
        """The forward's arithmetic for ``precision``: bf16 autocast, TF32 tensor cores (CUDA), or true fp32."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return _tf32(self.precision == "tf32")

    def logits(self):
        """Logits of the whole test set on the chip currently loaded, batch by batch (fp32 out); with read noise each
        batch is one read of the chip, with converters each CIM layer's input and output are quantised."""
        card = self.card
        quantised = converters(self.model, self.ranges, card.dac_bits, card.adc_bits) if self.ranges else nullcontext()
        with quantised:
            for index, start in enumerate(range(0, len(self.y), self.batch_size)):
                if card.read_noise:
                    self.read(index)
                with torch.inference_mode(), self.arithmetic():
                    xb = self.x[start : start + self.batch_size]
                    out = self.forward(xb).float()
                yield start, out, self.y[start : start + self.batch_size]

    def evaluate(
        self, sigma, chips: int | range, adaptive: dict | None = None, on_chip=None, seed_sigma=None
    ) -> ChipStats:
        """Chips in order; with ``adaptive`` ({ci_half_width, min_chips}) stop as soon as the 95 % CI half-width of
        the mean accuracy reaches the target: the result is a prefix of the fixed-count run. At sigma 0 every chip
        is the clean model: the test set runs once and its logits serve every chip (same rows, same statistics).
        With ``chips_per_pass`` K > 1 (and sigma > 0) chips run K at a time, see ``_evaluate_blocks``. ``on_chip``,
        if given, is called with the number of chips done after each chip (progress; it changes nothing);
        ``seed_sigma``: see ``set_sigma``. ``chips``: a count >= 1 or a non-empty range/list of chip indices >= 0;
        ``adaptive``: as ``mc.adaptive`` (enabled or not, it is used when given)."""
        _check_chips(chips)
        if adaptive:
            _check_stop_rule(adaptive)
        if len(self.y) == 0:
            raise ValueError("no test images: x and y are empty, so there is nothing to evaluate the chips on")
        self.set_sigma(sigma, seed_sigma)
        stats = ChipStats(
            len(self.y),
            _num_classes(self.model, self.x[:1]),
            self.device,
            bootstrap=self.ekl_bootstrap,
            bootstrap_seed=self.base_seed,
        )
        # every chip is the clean model (no programming noise, no stuck device, no read noise): one forward serves all
        clean = sigma_float(sigma) == 0 and not (self.card.stuck_fraction or self.card.read_noise)
        if self.chips_per_pass > 1 and not clean:
            chip_list = list(range(chips) if isinstance(chips, int) else chips)
            return self._evaluate_blocks(stats, chip_list, adaptive, on_chip)
        cached = None
        for chip in range(chips) if isinstance(chips, int) else chips:
            if cached is not None:
                batches = cached
            else:
                self.load_chip(chip)
                batches = list(self.logits()) if clean else self.logits()
                cached = batches if clean else None
            acc = [torch.zeros((), device=self.device, dtype=torch.float64) for _ in range(3)]
            for start, logits, yb in batches:
                for a, v in zip(acc, stats.add_batch(start, logits, yb)):
                    a += v
            stats.finish_chip(chip, *acc)
            if on_chip is not None:
                on_chip(len(stats.rows))
            if adaptive and adaptive_done([r["accuracy"] for r in stats.rows], adaptive):
                break
        return stats

    def _evaluate_blocks(self, stats: ChipStats, chips: list[int], adaptive: dict | None, on_chip=None) -> ChipStats:
        """K chips per forward; their rows (and sums) are then added chip by chip, in chip order, exactly as the
        one-chip loop adds them, so an adaptive stop inside a block still gives a prefix (the block's later chips are
        computed and dropped)."""
        k = self.chips_per_pass
        for first in range(0, len(chips), k):
            block = chips[first : first + k]
            self.load_block(block)
            batches = list(self.block_logits(len(block)))  # the block's logits: chips x test set x classes in all
            for j, chip in enumerate(block):
                acc = [torch.zeros((), device=self.device, dtype=torch.float64) for _ in range(3)]
                for start, logits, yb in batches:
                    for a, v in zip(acc, stats.add_batch(start, logits[j], yb)):
                        a += v
                stats.finish_chip(chip, *acc)
                if on_chip is not None:
                    on_chip(len(stats.rows))
                if adaptive and adaptive_done([r["accuracy"] for r in stats.rows], adaptive):
                    return stats
        return stats


def _check_evaluator_arguments(model, card, x, y, settings, fuse, seed_name, calibration) -> None:
    """``ChipEvaluator``'s arguments, checked once when it is built (types and shapes: nothing waits for the device)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(getattr(card, "noise_scale", None)):  # a DeviceCard, or a stand-in with its noise model
        raise TypeError(
            f"card must be a neft.core.devices.DeviceCard (neft.core.devices.get(name) gives one), got "
            f"{type(card).__name__} {card!r}"[:300]
        )
    if not isinstance(settings, McSettings):
        hint = "; for the config's mc mapping: McSettings.from_config(mc)" if isinstance(settings, dict) else ""
        raise TypeError(f"settings must be a McSettings or None, got {type(settings).__name__}{hint}")
    for what, t in (("x", x), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{what} must be a torch.Tensor, got {type(t).__name__}")
    if not x.is_floating_point() or x.dim() == 0:
        raise TypeError(
            f"x must hold preprocessed images as a floating-point tensor, got {x.dtype} of shape {tuple(x.shape)}"
        )
    if y.is_floating_point() or y.dtype == torch.bool or y.dim() != 1:
        raise TypeError(f"y must be a 1-D tensor of integer labels, got {y.dtype} of shape {tuple(y.shape)}")
    if len(x) != len(y):
        raise ValueError(f"x holds {len(x)} images but y {len(y)} labels; they must be as many")
    if fuse is not None and not isinstance(fuse, bool):
        raise TypeError(f"fuse must be True, False or None, got {fuse!r}")
    if seed_name is not None and not isinstance(seed_name, str):
        raise TypeError(f"seed_name must be a string (a device card's name) or None, got {seed_name!r}")
    if calibration is not None and not isinstance(calibration, torch.Tensor):
        raise TypeError(f"calibration must be a torch.Tensor of images or None, got {type(calibration).__name__}")


#: the workflow's default ``mc.seed``: ``McSettings.seed`` (kept under this name for callers of ``export_chip``)
WORKFLOW_MC_SEED = McSettings.seed


def export_chip(
    checkpoint,
    card,
    sigma,
    chip: int,
    *,
    base_seed: int = WORKFLOW_MC_SEED,
    device: torch.device | str = "cpu",
    seed_name: str | None = None,
    seed_sigma=None,
) -> dict[str, torch.Tensor]:
    """The state_dict of chip ``chip``: the original model's keys (BatchNorm included), its CIM weights programmed
    with the chip's noise, every other tensor the checkpoint's. ``model.load_state_dict(export_chip(...));
    model.eval()`` then computes the chip that ``ChipEvaluator`` evaluates for the same card, sigma, chip index and
    ``base_seed`` (the workflow's ``mc.seed``, default 2023, :data:`WORKFLOW_MC_SEED`).

    ``checkpoint``: a checkpoint path (its model is built from its metadata, ``neft.core.checkpoints``) or a trained
    ``nn.Module`` (a checkpoint of a dataset outside the built-in registry: ``load_model(path, registry)`` first).
    ``card``: a ``DeviceCard``, a card file (``results/devices/<d>/card.yaml``) or a preset's name.
    ``device``: where the noise is drawn. The MC job draws it on its own device (``compute.device``), and a CUDA
    generator draws other numbers than the CPU's for the same seed, so a chip of a sweep run on a GPU is exported with
    ``device="cuda"``; the tensors returned are on the CPU either way. ``seed_name``, ``seed_sigma``: as in
    ``ChipEvaluator`` / ``evaluate`` (a study sweep that re-uses another card's or sigma's chips).

    BatchNorm: each CIM weight is ``w + k(w) * std * eps`` (``DeviceCard.perturb`` with the chip's seeded ``eps``,
    plus the shift of its stuck devices when the card has them), exactly the weights ``ChipEvaluator`` writes with
    ``mc.fold_bn: false`` (bitwise). The workflow's default folds BatchNorm first and writes ``a * w + (a * k(w) *
    std) * eps`` with ``a`` = gamma / sqrt(var + eps) per output channel: the same chip, the BN factor multiplied in,
    so the folded forward and this state_dict's plain eval forward compute the same function up to float rounding
    (a few units in the last place of each logit, like any BN folding); a test prediction whose top two logits are
    that close can differ. Dividing the folded noisy weight by ``a`` instead would add a rounding, not remove one.

    Non-idealities that are not weights are refused: read noise (a fresh draw per forward pass) and DAC/ADC
    quantisation (of activations) have no state_dict; stuck devices are programmed weights and are exported."""
    from pathlib import Path

    if isinstance(card, Path) or (isinstance(card, str) and (card.endswith((".yaml", ".yml")) or Path(card).is_file())):
        card = DeviceCard.load(card)
    elif isinstance(card, str):
        card = devices.get(card)
    dynamic = [k for k in ("read_noise", "dac_bits", "adc_bits") if k in card.nonideal]
    if dynamic:
        raise ValueError(
            f"device card {card.name!r} has {', '.join(dynamic)}: not weights (read noise is drawn per forward pass, "
            "DAC/ADC quantise activations), so no state_dict is that chip; export the chip of a card without them "
            "(stuck devices are exported)"
        )
    if isinstance(chip, bool) or not isinstance(chip, int) or chip < 0:
        raise ValueError(f"chip is {chip!r}; it must be an integer >= 0 (a chip index of the sweep)")
    if isinstance(checkpoint, nn.Module):
        model = checkpoint
    else:
        model, _ = load_model(checkpoint)
    empty = torch.empty(0, device=device)  # the evaluator draws its chips on its images' device
    chips = McSettings(seed=base_seed, fold_bn=False, ekl_bootstrap=0)
    ev = ChipEvaluator(model, card, empty, empty.long(), chips, fuse=False, seed_name=seed_name)
    ev.set_sigma(sigma, seed_sigma)
    ev.load_chip(chip)
    state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    for name in ev.layers:
        state[name] = ev.live[name].detach().to("cpu").contiguous(memory_format=torch.contiguous_format).clone()
    return state


def _stacked_like(t: torch.Tensor, k: int) -> torch.Tensor:
    """An uninitialised ``(k, *t.shape)`` tensor whose every slice ``[j]`` has ``t``'s strides (e.g. channels_last);
    ``t`` is a weight, dense in memory, so slice j is ``numel`` elements after slice j - 1."""
    return torch.empty_strided((k, *t.shape), (t.numel(), *t.stride()), dtype=t.dtype, device=t.device)


@contextmanager
def _tf32(enabled: bool):
    """TF32 tensor cores on (or off) for this block only, whatever the process default (CUDA; no effect on CPUs)."""
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


def adaptive_done(accuracies: list[float], adaptive: dict) -> bool:
    """Enough chips: at least ``min_chips`` and a 95 % CI half-width at most ``ci_half_width`` (percentage points)."""

    if len(accuracies) < adaptive["min_chips"]:
        return False
    return ci_half_width(accuracies, 0.95) <= adaptive["ci_half_width"]


@torch.inference_mode()
def _num_classes(model: nn.Module, x1: torch.Tensor) -> int:
    return int(model(x1).shape[1])
