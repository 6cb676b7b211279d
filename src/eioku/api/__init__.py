"""The HTTP API (SPEC §8): a FastAPI app factory, one router per resource, errors in one place.

Build it with :func:`eioku.api.app.create_app`; everything is under ``/v1`` except
``/health``, the OpenAPI document (``/openapi.json``) and the docs (``/docs``).
"""
