"""The browser pages of the telemetry service: the consent screen and the analytics dashboard.

One HTML shell, its scripts and one stylesheet, all files inside this package (no CDN, nothing fetched
from the network at run time). They are built from the React components in ``ui/`` (``make ui``) and
committed, so running the service needs no Node.js; ``make test`` fails when they are stale. The page
reads everything it shows from the REST API under ``/api/telemetry``; this router serves files and the
"what we collect" list, and ``/dashboard`` streams the page with its first analytics report already
inside (see ``_dashboard``): the only way the first report reaches the page.

>>> from fastapi import FastAPI
>>> from telemetry.web import router
>>> app = FastAPI()
>>> app.include_router(router)   # GET /, GET /dashboard, GET /static/<file>, GET /api/telemetry/collected

URLs inside the page are relative, so the router also works when an embedding app mounts it together
with the API under a common prefix.
"""

from __future__ import annotations

from telemetry.web._collected import CollectedItem, collected_items
from telemetry.web._routes import StaticFile, page_with_block, respond, router, static_file, static_names

__all__ = [
    "CollectedItem",
    "StaticFile",
    "collected_items",
    "page_with_block",
    "respond",
    "router",
    "static_file",
    "static_names",
]
