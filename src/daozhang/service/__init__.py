"""Services: what the CLI and the API call. Each holds no business rule of its own.

``imports.import_paths`` brings files into a workspace; ``runs`` reconciles
it; ``report`` and ``exceptions`` read the results.
"""
