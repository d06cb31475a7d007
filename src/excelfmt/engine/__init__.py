"""The engine: the runs, composed: a local run, a reprocess, a check, a preview, a bench.

runner (`run()`: the composition root; with --queue it takes its feed from `scaleout`),
sheet_process (reading, planning and writing in a second process) and wire (the form of
jobs and outcomes on its pipes), reprocess (corrected rows sent again), check, preview,
bench, notify. The per-row machinery it drives is `sending`'s. Knows nothing of typer or
rich.

Imports every package except `ui` and `cli`.
"""
