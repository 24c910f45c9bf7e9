"""Lists of the config whose items become paths, labels or table rows: two items that are spelled alike there
are one item, so the config is refused when that happens, naming the key.

``0.05`` and ``0.05000001`` under ``nonidealities.read_noise`` both become the folder ``read_noise~0.05``, so the
study would read one sweep twice; ``drift_study.times_s: [1, 1, 2]`` labels two cards "1 s"; a method listed twice
in a study is evaluated once and counted twice. The JSON schema's ``uniqueItems`` catches only items that are equal
as values; this catches those equal in their spelling. ``SPELLED`` says how each list is spelled; ``tests/
test_spelling.py`` checks that every list of the schema is either here or marked ``uniqueItems`` with items whose
spelling is their value (seeds, names, integers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from neft.experiment.grid import level_text, sweep_name, time_text
from neft.util.sigma import format_sigma


def _same(value) -> str:
    return str(value)


def _pair(value) -> str:
    return f"{value.get('model')}/{value.get('dataset')}" if isinstance(value, dict) else str(value)


#: key pattern (``*`` stands for any name of a mapping) -> how an item is spelled where it ends up, and where that is
SPELLED: dict[str, tuple[Callable, str]] = {
    "methods.*.train_at": (format_sigma, "the training sigma in run paths"),
    "methods.*.test_at": (format_sigma, "the test sigma in sweep paths"),
    "ablation.sigmas": (format_sigma, "the ablation table's sigma rows"),
    "ablation.sweep_sigmas": (format_sigma, "the beta sweep's sigma rows"),
    "ablation.beta_sweep.*": (sweep_name, "the variant's method name"),  # spelled with its method: see below
    "convergence.sigmas": (format_sigma, "the convergence table's sigma rows"),
    "convergence.methods": (_same, "the convergence table's rows"),
    "device_study.sigmas": (format_sigma, "the device study's sigma rows"),
    "device_study.devices": (_same, "the device study's rows"),
    "device_study.methods": (_same, "the device study's rows"),
    "nonidealities.methods": (_same, "the study's rows and its paired seeds"),
    "nonidealities.read_noise": (level_text, "the sweep folder read_noise~<level>"),
    "nonidealities.stuck_fraction": (level_text, "the sweep folder stuck_fraction~<level>"),
    "nonidealities.dac_bits": (level_text, "the sweep folder dac_bits~<level>"),
    "nonidealities.adc_bits": (level_text, "the sweep folder adc_bits~<level>"),
    "drift_study.methods": (_same, "the study's rows and its paired seeds"),
    "drift_study.times_s": (time_text, "the card's label in the drift table and figure"),
    "worst_case_probe.methods": (_same, "the probe's output files"),
    "figures.formats": (_same, "the figure file's extension"),
    "experiments.pairs": (_pair, "the run path <model>/<dataset>"),
}


def _lists(config, parts: list[str], key: str) -> Iterator[tuple[str, list]]:
    """Each list at the key pattern ``parts`` in ``config``, with its key spelled out."""
    if not parts:
        if isinstance(config, list):
            yield key, config
        return
    head, rest = parts[0], parts[1:]
    if not isinstance(config, dict):
        return
    names = list(config) if head == "*" else [head] if head in config else []
    for name in names:
        yield from _lists(config[name], rest, f"{key}.{name}" if key else str(name))


def _spell(spell: Callable, value) -> str | None:
    try:
        return spell(value)
    except (TypeError, ValueError):  # a value of the wrong kind: reported by the schema or the list's own check
        return None


def collisions(key: str, items: list, spell: Callable, where: str) -> list[str]:
    """One problem per group of items of ``key`` that ``spell`` spells alike."""
    seen: dict[str, list[int]] = {}
    for i, value in enumerate(items):
        text = _spell(spell, value)
        if text is not None:
            seen.setdefault(text, []).append(i)
    problems = []
    for text, where_i in seen.items():
        if len(where_i) > 1:
            listed = " and ".join(f"[{i}] {items[i]!r}" for i in where_i)
            alike = "both" if len(where_i) == 2 else "all"
            problems.append(
                f"{key}: items {listed} are {alike} spelled {text!r} in {where}, so they would be one item; list each "
                "value once"
            )
    return problems


def spelling_problems(config: dict) -> list[str]:
    """Every list of ``SPELLED`` in the config, checked for items spelled alike."""
    problems = []
    for pattern, (spell, where) in SPELLED.items():
        for key, items in _lists(config, pattern.split("."), ""):
            if spell is sweep_name:  # ablation.beta_sweep.<method>: the variant's name carries the method
                spell = partial(sweep_name, key.rsplit(".", 1)[1])
            problems += collisions(key, items, spell, where)
    return problems
