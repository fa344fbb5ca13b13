"""Understanding what residents mean: the one interpreter of answers (interpreter.py)."""
