"""The command line (`devstarl ...`, `python -m devstarl`): one module per command group, wired
together in `devstarl.main`. The top layer: it may import every package; none imports it."""
