"""Ingest: one reader per input format, each yielding raw canonical fields.

Files in, a DuckDB table of VARCHAR fields (with their source line) out;
bad rows set aside as :class:`~daozhang.ingest.rejects.Reject` values, never
raised. Imports only the domain.
"""
