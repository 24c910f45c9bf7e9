# NeFT reproduction workflow. Entry point: config, validation, includes and the target rules only.
# Each rule's code is one hop away: workflow/rules/<stage>.smk -> workflow/scripts/<rule>.py -> src/neft/.
from snakemake.utils import min_version

min_version("9.20")


configfile: Path(workflow.basedir) / "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/devices.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"


localrules:
    reproduce_all,
    figure_accuracy,
    table_accuracy,
    figure_ablation,
    table_ablation,


rule figure_accuracy:
    """Accuracy vs sigma: one panel per (model, dataset), one line per method."""
    input:
        expand("results/figures/accuracy.{ext}", ext=config["figures"]["formats"]),


rule table_accuracy:
    """Accuracy per (model, dataset, method, sigma) as CSV, Markdown and LaTeX."""
    input:
        multiext("results/tables/accuracy", ".csv", ".md", ".tex"),


rule figure_ablation:
    """Where NeFT's gain comes from (temperature, passes/heads, feedback), and the beta sweep."""
    input:
        expand("results/figures/ablation.{ext}", ext=config["figures"]["formats"]),


rule table_ablation:
    """The ablation's paired differences and beta sweep as CSV, Markdown and LaTeX."""
    input:
        multiext("results/tables/ablation", ".csv", ".md", ".tex"),
        "results/tables/ablation_beta_sweep.csv",


rule reproduce_all:
    """Every figure and table of the configured scale."""
    default_target: True
    input:
        rules.figure_accuracy.input,
        rules.table_accuracy.input,
        rules.figure_ablation.input if config["ablation"]["enabled"] else [],
        rules.table_ablation.input if config["ablation"]["enabled"] else [],
