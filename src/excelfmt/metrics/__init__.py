"""What a run counts and reports: counters, a latency histogram, the run summary.

Fed by outcomes, read by the live view, the store and the results workbook; no rendering.

Imports only the plain data at the top of excelfmt.
"""
