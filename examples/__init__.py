"""Worked examples of the edgeai flow (each runs end to end with `python examples/<name>/run.py`)."""
