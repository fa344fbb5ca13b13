"""Shared infrastructure every layer may use: settings, encryption and keyed hashes,
log redaction, shared state (Redis or in-process), metrics, signed metadata, CSV safety and
the Rasa model on disk. Nothing here imports services, adapters or actions."""
