"""Each row's call: build it, send it, read the answer.

template ({Column} placeholders), jobs (Row -> Job: URL, method, headers, body,
Idempotency-Key), client (Job -> HTTP exchange -> Reply), classify (status or exception ->
Category), responses (messages, field errors, captured fields). Knows nothing of Excel.

Imports the plain data and `settings`.
"""
