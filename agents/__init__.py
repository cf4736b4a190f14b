"""DSPy signatures and modules, the pipeline, LM backends, traces and the CLI."""
