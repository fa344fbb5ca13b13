"""rasa-sdk action server: thin handlers that call into ``bot``.

Run with ``python -m rasa_sdk --actions actions`` (``sadar run`` does this)."""
