"""Sadar: registration and reminders for BPJS Ketenagakerjaan BPU participants."""

__version__ = "0.1.0"
