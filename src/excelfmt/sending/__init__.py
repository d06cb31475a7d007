"""Sending rows in one process, whichever run they belong to: the machinery a local run
and a queue worker share.

pool (the only place tasks are spawned), dispatch (one Job -> one Outcome through the
policies), events (what a run reports while it goes), and the process's settings for
sending: the event loop (eventloop), the garbage collector (gcpause), stop signals
(signals). Knows nothing of workbooks, Redis, typer or rich.

Imports the plain data, `settings`, `metrics`, `calls`, `policies` and `store`.
"""
