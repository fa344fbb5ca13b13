"""Rasa training data (``*.yml``) and Sadar's custom NLU components.

``nlu.parsing`` holds pure, deterministic parsers (standard library only, Python 3.10+),
imported both by the Rasa server (Python 3.10) and by the application (3.11+)."""
