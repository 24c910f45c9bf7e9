"""Layer 4, presentation: display labels, the Markdown and LaTeX table writers, figures. Imports the layers
below."""
