"""Layer 5, tables and conclusions from results: aggregation, claims, the scorecard, ablation, stability, the scale
ladder's tables, non-ideality studies. Never imports neft.jobs (its sibling)."""
