"""Matching: set-based relational rules that link records across sources.

Every rule here is SQL written once in a portable subset of DuckDB's dialect
and run by an :class:`~daozhang.match.engine.Engine`: DuckDB embedded by
default, Spark (through SQLGlot) when one machine is not enough.
"""
