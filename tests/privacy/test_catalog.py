"""The typed event catalog: declared properties stored as declared, the rest policed, strict mode drops.

Runs through the real service into a real DuckDB file, and the endpoint through a real uvicorn server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx
import pytest
from pydantic import BaseModel, Field

from telemetry.catalog import CatalogError, EventCatalog, default_catalog
from telemetry.service import TelemetryService
from telemetry.testing import stored_events
from tests.server.conftest import server_settings


class ExportClicked(BaseModel):
    """The user exported an adapter."""

    event_name: ClassVar[str] = "export_clicked"
    format: Literal["safetensors", "gguf"] | None = Field(None, description="File format chosen.")
    label: str | None = Field(None, description="The adapter's label.")
    size_mb: float | None = Field(None, description="Size in MB.")


def _stored(
    home: Path, catalog: EventCatalog, props: dict[str, object], event: str = "export_clicked"
) -> dict[str, Any]:
    service = TelemetryService(server_settings(home), catalog=catalog)
    try:
        service.enable().result(10)
        service.track_event_sync(event, props)
        [row] = [r for r in stored_events(service) if r["name"] == event]
        return {**row["attributes"], "redactions": row["redactions"] or {}}
    finally:
        service.shutdown(timeout=10)


def test_declared_properties_are_stored_as_declared_and_the_rest_is_policed(tmp_path: Path) -> None:
    catalog = default_catalog().with_events(ExportClicked)
    attrs = _stored(
        tmp_path / "home",
        catalog,
        {"format": "gguf", "label": "zqxvelmor", "size_mb": 12.5, "comment": "zqxvelmor", "owner_note": "gguf"},
    )
    assert attrs["format"] == "gguf" and attrs["size_mb"] == 12.5
    assert attrs["label"] == "zqxvelmor"  # declared string: detectors only
    assert attrs["comment"] == "<word>"  # undeclared: the free-text policy


def test_declared_properties_still_pass_key_rules_and_detectors(tmp_path: Path) -> None:
    catalog = default_catalog().with_events(ExportClicked)
    attrs = _stored(tmp_path / "home", catalog, {"label": "mail me at jo.zqx@example.com", "format": "zip"})
    assert attrs["label"] == "mail me at <email>"
    assert attrs["format"] == "zip"  # not one of the enum's values: policed as free text (a known word here)


def test_strict_mode_drops_undeclared_keys_and_undeclared_events(tmp_path: Path) -> None:
    catalog = default_catalog(strict=True).with_events(ExportClicked)
    attrs = _stored(tmp_path / "a", catalog, {"format": "gguf", "comment": "hello"})
    assert attrs["format"] == "gguf" and "comment" not in attrs
    assert attrs["redactions"].get("key.undeclared") == 1
    other = _stored(tmp_path / "b", catalog, {"anything": "hello"}, event="not_in_catalog")
    assert "anything" not in other and other["peft.event_type"] == "not_in_catalog"


def test_peft_studio_events_ship_declared() -> None:
    events = {e.name: e for e in default_catalog().events}
    assert {"app_started", "model_loaded", "training_started", "training_finished", "adapter_exported"} <= set(events)
    training = {p.name: p for p in events["training_started"].properties}
    assert training["lora.r"].type == "integer"
    assert training["algorithm"].type == "enum" and "qlora" in (training["algorithm"].enum or [])


def test_a_model_without_a_name_or_declared_twice_is_refused() -> None:
    class Nameless(BaseModel):
        x: int = 0

    with pytest.raises(CatalogError):
        EventCatalog([Nameless])
    with pytest.raises(CatalogError):
        EventCatalog([ExportClicked, ExportClicked])


def test_catalog_endpoint_is_public_and_matches_contract(tmp_path: Path) -> None:
    from tests.server.conftest import live_server

    with live_server(tmp_path / "home") as server, httpx.Client(base_url=server.base_url, timeout=30) as http:
        answer = http.get("/api/telemetry/catalog")  # no token: it describes policy, not data
        assert answer.status_code == 200
        body = answer.json()
        assert set(body) == {"strict", "events"} and body["strict"] is False
        event = next(e for e in body["events"] if e["name"] == "training_started")
        assert set(event) == {"name", "description", "properties"}
        for prop in event["properties"]:
            assert set(prop) == {"name", "type", "description", "enum"}
            assert prop["type"] in {"string", "integer", "number", "boolean", "enum"}
