"""Normalise: raw text fields to typed canonical columns, with set-based SQL.

Money to integer fen, rates to parts per million, times to local
Asia/Shanghai, enums checked, card numbers already masked by ingest. Imports
only the domain and ingest (the stage before it).
"""
