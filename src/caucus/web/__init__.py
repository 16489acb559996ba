"""The web layer: a FastAPI app built by :func:`caucus.web.app.create_app` from explicit settings.

Importing it does no work; see docs/api.md for the API.
"""
