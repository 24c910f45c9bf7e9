"""The script of every rule: it runs the rule's job, neft.workflow.rules.run_job(snakemake).

These bytes never change: Snakemake reruns a script rule's finished jobs when the script is newer than their outputs.
The rules' code is in src/neft/workflow/rules/ (why: that package's docstring).
"""

from neft.workflow.warmstart import delegate

delegate(globals())  # in the workflow's warm interpreter when it has one (neft.workflow.warmstart)

from neft.workflow.rules import run_job  # noqa: E402

run_job(snakemake)  # noqa: F821 - injected by Snakemake
