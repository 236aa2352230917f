"""Shared infrastructure below every layer: settings, database, logs, metrics, outage
handling. Imports nothing of ours, so every package may import it."""
