"""Layer 3, the experiment: the validated config, the grid of runs and evaluations, the scale ladder's rungs, and the
file contracts between workflow rules (what each hand-off holds, and its readers). Imports neft.core and neft.util."""
