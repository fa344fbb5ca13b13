"""Deterministic parsers for what residents type: NIK, phone numbers, money, dates,
occupations and village names. Each returns normalised values with their text spans."""

from nlu.parsing.common import Found

__all__ = ["Found"]
