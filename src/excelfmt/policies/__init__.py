"""Politeness and robustness: pure state machines, given the time by their caller.

ratelimit (GCRA cap, server pauses, learned pace), throttling (Retry-After, RateLimit-*
headers), breaker, adaptive (the concurrency controller) and gate (its in-flight limit),
retry (what is retried; the retry budget), authguard (wrong credentials vs. a few refused
rows), resilience (one run's set of them, built from settings). None of them sleeps or
sends: sending.dispatch is their only async caller.

Imports the plain data and `settings`.
"""
