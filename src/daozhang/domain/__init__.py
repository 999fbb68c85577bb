"""The domain model: plain frozen values with no I/O.

Every other stage speaks in these types; nothing here imports from the rest of
the package.
"""
