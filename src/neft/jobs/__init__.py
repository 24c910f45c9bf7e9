"""Layer 5, one function per workflow job (neft.jobs.runs) and the keep store of finished trainings. Never imports
neft.analysis (its sibling)."""
