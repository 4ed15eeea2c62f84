"""The browser pages of the telemetry service: the consent screen and the analytics dashboard.

One HTML shell, one JavaScript module set and one stylesheet, all files inside this package (no CDN, no
build step, nothing fetched from the network at run time). The page reads everything it shows from the
REST API under ``/api/telemetry``; this router serves files, except that ``/dashboard`` streams the
page with its first analytics report already inside (see ``_dashboard``).

>>> from fastapi import FastAPI
>>> from telemetry.web import router
>>> app = FastAPI()
>>> app.include_router(router)   # GET /, GET /dashboard, GET /static/<file>

URLs inside the page are relative, so the router also works when an embedding app mounts it together
with the API under a common prefix.
"""

from __future__ import annotations

from telemetry.web._collected import CollectedItem, collected_items
from telemetry.web._routes import router, static_names

__all__ = ["CollectedItem", "collected_items", "router", "static_names"]
