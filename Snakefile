# NeFT reproduction workflow. Entry point: config, validation, includes and the target rules only.
# Each rule's code is one hop away: rule R of workflow/rules/<stage>.smk -> src/neft/workflow/rules/<stage>.py, or
# plots.py for a rule that draws (neft.workflow.rules.RULES names it). Every rule runs workflow/scripts/job.py.
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
include: "workflow/rules/ablation.smk"
include: "workflow/rules/crosscheck.smk"
include: "workflow/rules/convergence.smk"
include: "workflow/rules/nonideal.smk"
include: "workflow/rules/scale.smk"
include: "workflow/rules/scorecard.smk"
include: "workflow/rules/report.smk"


TARGETS = final_targets()


localrules:
    reproduce_all,
    report_html,
    summary,
    figure_accuracy,
    figure_accuracy_panels,
    table_accuracy,
    figure_uncertainty,
    table_uncertainty,
    figure_confidence,
    table_confidence,
    figure_variance,
    table_variance,
    table_headline,
    scorecard_all,
    figure_ablation,
    table_ablation,
    table_crosscheck,
    figure_convergence,
    table_convergence,
    figure_devices,
    table_devices,
    figure_device_fits,
    figure_worst_chips,
    table_worst_chips,
    figure_nonidealities,
    table_nonidealities,
    figure_drift,
    table_drift,
    table_worst_case_probe,
    scale_study,


rule reproduce_all:
    """Every figure and table of the configured scale, and the HTML report that tells the story."""
    default_target: True
    input:
        report_inputs(),
        "reports/neft_report.html",


rule report_html:
    """The papermill-rendered notebook (reports/neft_report.html) summarising the run."""
    input:
        "reports/neft_report.html",


rule figure_accuracy:
    """Accuracy vs sigma: one panel per (model, dataset), one line per method (the paper's main figure)."""
    input:
        TARGETS["figure_accuracy"],


rule figure_accuracy_panels:
    """Each panel of the accuracy figure as its own file (results/figures/accuracy_panels/<model>/<dataset>)."""
    input:
        TARGETS["figure_accuracy_panels"],


rule table_accuracy:
    """Accuracy per (model, dataset, method, sigma) as CSV, Markdown and LaTeX."""
    input:
        TARGETS["table_accuracy"],


rule figure_uncertainty:
    """Epistemic uncertainty (expected KL over chips) vs sigma."""
    input:
        TARGETS["figure_uncertainty"],


rule table_uncertainty:
    input:
        TARGETS["table_uncertainty"],


rule figure_confidence:
    """Mean max-softmax probability of all and of correct predictions vs sigma."""
    input:
        TARGETS["figure_confidence"],


rule table_confidence:
    input:
        TARGETS["table_confidence"],


rule figure_variance:
    """Std of accuracy between training seeds and within a seed (over chips), per method and sigma."""
    input:
        TARGETS["figure_variance"],


rule table_variance:
    input:
        TARGETS["table_variance"],


rule summary:
    """The run's conclusions written from its tables (results/tables/summary.md): what the report opens with."""
    input:
        TARGETS["summary"],


rule table_headline:
    """Per panel, the largest gain of OVF or IRS over the best baseline and over W/ Noise, and where."""
    input:
        TARGETS["table_headline"],


rule scorecard_all:
    """Reproduced vs paper: points, claims, headline, and the overlay figure."""
    input:
        TARGETS["scorecard"],


rule figure_ablation:
    """Where NeFT's gain comes from (temperature, passes/heads, feedback), and the beta sweep (ablation.enabled)."""
    input:
        TARGETS["figure_ablation"],


rule table_ablation:
    input:
        TARGETS["table_ablation"],


rule table_crosscheck:
    """W/ Noise by us and by IBM's aihwkit-lightning on the same seeds and chips (crosscheck.enabled)."""
    input:
        TARGETS["table_crosscheck"],


rule figure_convergence:
    """Convergence probability per method and sigma (convergence.enabled)."""
    input:
        TARGETS["figure_convergence"],


rule table_convergence:
    input:
        TARGETS["table_convergence"],


rule figure_devices:
    """Every method on RRAM1, FeFET2, RRAM4, FeFET6 (device_study.enabled)."""
    input:
        TARGETS["figure_devices"],


rule table_devices:
    input:
        TARGETS["table_devices"],


rule figure_device_fits:
    """Goodness of fit of the device cards fitted from measured statistics (fitted_devices)."""
    input:
        TARGETS["figure_device_fits"],


rule figure_worst_chips:
    """Per method and sigma, every chip's accuracy with the 1st percentile and the worst chip (named) marked."""
    input:
        TARGETS["figure_worst_chips"],


rule table_worst_chips:
    """Per method and sigma: mean, 1st percentile and worst chip accuracy, and the worst chip's seed and index."""
    input:
        TARGETS["table_worst_chips"],


rule figure_nonidealities:
    """Accuracy under read noise, DAC and ADC resolution and stuck devices (opt-in: nonidealities.enabled)."""
    input:
        TARGETS["figure_nonidealities"],


rule table_nonidealities:
    """The non-idealities study as CSV, Markdown and LaTeX, each method paired with the baseline."""
    input:
        TARGETS["table_nonidealities"],


rule figure_drift:
    """Accuracy against time since programming, from the fitted cards (opt-in: drift_study.enabled)."""
    input:
        TARGETS["figure_drift"],


rule table_drift:
    """The drift study as CSV, Markdown and LaTeX, each method paired with the baseline."""
    input:
        TARGETS["table_drift"],


rule table_worst_case_probe:
    """The worst-case probe: per method, a likely chip found below the sampled 1st percentile (opt-in)."""
    input:
        TARGETS["table_worst_case_probe"],


rule scale_study:
    """The scale ladder (scale_study.enabled; config/presets/scale.yaml): every method along rungs of (width,
    epochs) at each rung's computed sigma, its table and figure."""
    input:
        TARGETS["scale_study"],
