"""``instrument_fastapi`` on a real app served by uvicorn on 127.0.0.1."""

from pathlib import Path

import httpx
import orjson
from _live import serving
from fastapi import FastAPI
from fastapi.responses import JSONResponse

import telemetry
from telemetry.testing import recording_service, stored_events


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/models/{model_path:path}")
    async def model(model_path: str) -> dict[str, int]:
        return {"length": len(model_path)}

    @app.post("/jobs/{job_id}")
    def start(job_id: int) -> JSONResponse:
        return JSONResponse({"job": job_id}, status_code=201)

    @app.get("/healthz")
    def health() -> dict[str, bool]:
        return {"ok": True}

    return app


def test_route_templates_kept_raw_paths_and_queries_never_stored(tmp_path: Path) -> None:
    app = _app()
    with recording_service(tmp_path) as service:
        handle = telemetry.instrument_fastapi(app, service=service, excluded_urls=["/healthz$"])
        with serving(app) as base, httpx.Client(base_url=base) as http:
            assert http.get("/models/home/alice/llama-7b?token=s3cr3t-value&user=alice").status_code == 200
            assert http.post("/jobs/42?debug=alice").status_code == 201
            assert http.get("/healthz").status_code == 200
            assert http.get("/no/such/route/alice").status_code == 404
        handle.uninstrument()
        rows = stored_events(service)
    http_rows = [r for r in rows if r["kind"] == "SERVER" or "http.route" in r["attributes"]]
    assert sorted(r["name"] for r in http_rows) == ["GET /models/{model_path:path}", "POST /jobs/{job_id}"]
    routes = sorted(r["attributes"]["http.route"] for r in http_rows)
    assert routes == ["/jobs/{job_id}", "/models/{model_path:path}"]
    assert len(rows) == 2  # one span per request: no ASGI send/receive spans, nothing for /healthz or the 404
    stored = orjson.dumps(rows, default=str).decode()
    for raw in ("alice", "s3cr3t", "token=", "llama-7b", "/jobs/42", "127.0.0.1", "python-httpx"):
        assert raw not in stored, raw


def test_nothing_is_recorded_without_consent(tmp_path: Path) -> None:
    app = _app()
    with recording_service(tmp_path, enabled=False) as service:
        telemetry.instrument_fastapi(app, service=service)
        with serving(app) as base, httpx.Client(base_url=base) as http:
            assert http.get("/models/x").status_code == 200
        assert stored_events(service) == []
