"""`excelfmt serve`: the HTTP API (and the web console) over the same store as the CLI.

Only `excelfmt serve` imports the web stack (the `serve` extra: FastAPI, uvicorn);
`excelfmt token` uses tokens.py alone.
"""
