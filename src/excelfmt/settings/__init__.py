"""Settings: one frozen value, validated once at the edge.

The settings table (options), text -> value converters, the merge of defaults < TOML <
environment < flags into `Settings` (config), the environment itself (environment, its only
reader), and the generated reference (docs/configuration.md).

Imports only the plain data at the top of excelfmt (models, errors, redaction).
"""
