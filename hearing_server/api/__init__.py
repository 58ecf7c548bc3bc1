"""The HTTP API (JSON). The OpenAPI document is in openapi.py and served at /api/openapi.json."""
