"""What one workflow job is given, as frozen values a rule script builds from its ``snakemake`` object and passes
whole: ``train_job(job, paths, log)``, ``mc_job(job, paths, log)`` (``neft.jobs.runs``).

A job spec says *what* is computed (the run, its typed settings); its paths say *where* the inputs are and the
outputs go. Rule params stay plain dicts (Snakemake tracks ``params`` by the ``repr()`` of built-in values, so a
dataclass there would drop out of rerun tracking): a spec takes a rule's ``params.method``, ``params.data``,
``params.compute`` and ``params.mc`` as they are and builds the typed settings from them once (``MethodSpec``,
``DataSpec``, ``ComputeSpec``, ``McSettings``, each ``from_params``; the sigma as a ``Sigma``), so every field a job
reads is typed and its default stated once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neft.core.data.loader import DataSpec
from neft.core.mc import McSettings
from neft.core.methods import MethodSpec
from neft.util.perf import ComputeSpec
from neft.util.sigma import Sigma


@dataclass(frozen=True)
class TrainJob:
    """One training: the model and dataset, the method (``methods.<name>``'s kind and params, a ``MethodSpec``) at
    training ``sigma`` (a ``Sigma``), the seed, and the config slices that shape it. ``settings``:
    ``neft.core.train.TrainSettings``'s fields but the seed (``neft.jobs.runs.train_settings`` makes them from the
    ``training`` section); ``data``: the config's ``data`` slice (validation size, split seed, subsets; a
    ``DataSpec``); ``compute``: the ``compute`` slice (device, threads, determinism; a ``ComputeSpec``); ``meta``:
    what the run's path names beyond these (the config's method name, a ladder rung's paper sigma), recorded in the
    checkpoint. Each field may be given as its rule param (a dict, a spelling) and is held typed."""

    model: str
    width: float
    dataset: str
    method: MethodSpec | dict
    sigma: Sigma | str | float
    seed: int
    settings: dict
    registry: dict = field(default_factory=dict)
    data: DataSpec | dict = field(default_factory=DataSpec)
    compute: ComputeSpec | dict = field(default_factory=ComputeSpec)
    meta: dict | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", MethodSpec.from_params(self.method))
        object.__setattr__(self, "sigma", Sigma(self.sigma))
        object.__setattr__(self, "data", DataSpec.from_params(self.data))
        object.__setattr__(self, "compute", ComputeSpec.from_params(self.compute))


@dataclass(frozen=True)
class TrainPaths:
    """A training's files: the prepared dataset and the device card it reads; the checkpoint and the log (CSV) it
    writes; the resume state it keeps while it runs (None: no resume)."""

    data: str
    card: str
    model: str
    log: str
    state: str | None = None


@dataclass(frozen=True)
class EvalJob:
    """One evaluation of a trained model on seeded chips at ``sigma_test``: the model and dataset it was trained for,
    the Monte-Carlo settings (``mc``: a ``McSettings`` or a rule's ``params.mc``), and ``keys``, the columns that
    label its rows. A non-ideality or drift sweep (``neft.core.nonideal``) names the card it evaluates under
    (``card_name``, default the card's own), the fields it turns on (``card_changes``), and the device and sigma
    whose chips it re-uses (``seed_device``, ``seed_sigma``), so its rows pair with the main sweep's chip by chip."""

    model: str
    width: float
    dataset: str
    sigma_test: Sigma | str | float
    mc: McSettings | dict = field(default_factory=McSettings)
    keys: dict = field(default_factory=dict)
    registry: dict = field(default_factory=dict)
    data: DataSpec | dict = field(default_factory=DataSpec)
    compute: ComputeSpec | dict = field(default_factory=ComputeSpec)
    card_name: str | None = None
    card_changes: dict | None = None
    seed_device: str | None = None
    seed_sigma: Sigma | str | float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma_test", Sigma(self.sigma_test))
        if self.seed_sigma is not None:
            object.__setattr__(self, "seed_sigma", Sigma(self.seed_sigma))
        object.__setattr__(self, "mc", McSettings.from_params(self.mc))
        object.__setattr__(self, "data", DataSpec.from_params(self.data))
        object.__setattr__(self, "compute", ComputeSpec.from_params(self.compute))


@dataclass(frozen=True)
class EvalPaths:
    """An evaluation's files: the prepared dataset, the checkpoint and the device card it reads, and what its job
    writes: ``chips`` (CSV, one row per chip) and ``stats`` (JSON) for a Monte-Carlo sweep; ``sampled`` (the main
    sweep's chips, read) and ``out`` (JSON) for the worst-case probe; ``out`` (the factor, JSON) and ``sweep`` (CSV)
    for the scale ladder's sigma calibration."""

    data: str
    checkpoint: str
    card: str
    chips: str | None = None
    stats: str | None = None
    sampled: str | None = None
    out: str | None = None
    sweep: str | None = None

    def need(self, *names: str) -> None:
        """Refuse a job whose paths lack what it writes or reads, naming the field."""
        missing = [n for n in names if getattr(self, n) is None]
        if missing:
            raise ValueError(f"EvalPaths: this job needs {', '.join(missing)}")
