"""The workspace: one folder with the records (Parquet) and the state (SQL).

An edge of the system: it may import the core, the core never imports it.
"""
