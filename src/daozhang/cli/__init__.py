"""The command line: a thin edge over the same service functions the API calls."""
