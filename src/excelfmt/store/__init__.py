"""The local store: every run (session), its journal, log and lock; rows that need a person;
answers kept for --cache-ttl.

folder.Store opens the store's folder and hands out its parts; records, journal, locks and
responsecache keep one kind of thing each (diskcache and SQLite stay inside this package);
sessions opens, resumes and closes a run's session; runlog is its structured log;
rowerrors decides which outcomes need a person and what is kept of each.

Imports the plain data, `settings`, `metrics`, `calls` and `policies`.
"""
