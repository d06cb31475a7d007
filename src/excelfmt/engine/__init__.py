"""The engine: rows in, outcomes out, through the policies; and the run that wires it.

runner (`run()` and `preview()`: the composition root), sheet_process (reading, planning
and writing in a second process) and wire (the form of jobs and outcomes on its pipes),
pool (the only place tasks are spawned), dispatch (one Job -> one Outcome through the
policies), events (what a run reports while it goes), reprocess (corrected rows sent
again). Knows nothing of typer or rich.

Imports every package except `ui` and `cli`.
"""
