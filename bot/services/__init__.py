"""Use cases: thin orchestration between the domain core and persistence."""
