"""The web app's routes, one module per part: auth, overview, exceptions, imports, settings, api."""
