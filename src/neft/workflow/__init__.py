"""Layer 6, what talks to Snakemake: the warm job start, the preflight check of intermediate files, the terminal
progress view of the logger plugin."""
