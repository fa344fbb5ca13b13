"""Security tests: forged, replayed, empty-key and oversized requests against the real
stack (tests/support/stack.py) or the gateway in-process."""
