"""NeFT reproduction: negative feedback training for compute-in-memory DNN accelerators, rebuilt from the paper.

The package is layered; each subpackage imports only those listed before it (``tools/house.py`` and the import-linter
contract in ``pyproject.toml`` check it in CI; ``docs/architecture.md`` draws it):

1. ``util``: sigma spelling, seeds, atomic I/O, input checks, statistics, process settings, the job's progress file. 2.
``core``: the science: devices and their cards, noise, non-idealities, models, data, methods, training, the
   Monte-Carlo evaluation, the worst-case probe, device fitting, checkpoints, the aihwkit-lightning bridge.
3. ``experiment``: the validated config, the grid of runs and evaluations, the scale ladder's rungs, the file
   contracts between workflow rules.
4. ``report``: display labels, Markdown and LaTeX table writers, figures. 5. ``analysis`` | ``jobs`` (siblings that
never import each other): tables and conclusions from results | one
   function per workflow job, and the keep store of finished trainings.
6. ``workflow``: what talks to Snakemake: warm job start, the preflight check, the terminal progress view. 7. ``tools``:
the benchmark and the GPU acceptance run.

Importing ``neft`` or a subpackage imports nothing else (no torch): each module is imported by name.
"""
