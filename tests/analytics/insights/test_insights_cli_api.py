"""The insights where they show: ``peft-telemetry insights`` (table and JSON) and ``POST
/api/telemetry/insights`` on a real uvicorn, over history recorded through the real pipeline (spans with
explicit past start times from a simulated fleet: the demo's ``--days`` road)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from _insights_data import HOUR, MONDAY, Plan, build, fleet_rows
from conftest import BURST_HOUR

from analytics.insights import InsightsReport
from telemetry.cli.main import main
from telemetry.demo.history import EXPERIMENT, SLOW_SPAN, run_history
from telemetry.settings import TelemetrySettings

KEYS = {"trends", "anomalies", "regressions", "heatmap", "experiments"}


def _server_fixtures() -> ModuleType:
    """tests/server/conftest.py (the real-uvicorn helpers), loaded under a name of its own."""
    path = Path(__file__).resolve().parents[2] / "server" / "conftest.py"
    spec = importlib.util.spec_from_file_location("server_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("server_fixtures", module)  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli") / "home"
    settings = TelemetrySettings(home=home)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    build(settings.db_path, fleet_rows(Plan(seed=7, slowdown=1.35, burst_hour=BURST_HOUR, rising="adapter_exported")))
    return home


def _cli_json(home: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    assert main(["insights", "--home", str(home), "--format", "json", *extra]) == 0
    out = capsys.readouterr().out
    document: dict[str, Any] = orjson.loads(out)
    return document


def test_cli_json_is_the_documented_document(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _cli_json(home, capsys)
    assert set(doc) == KEYS
    InsightsReport.model_validate(doc)  # exactly the API's models
    (regression,) = doc["regressions"]["items"]
    assert (regression["series"], regression["version"], regression["previous_version"]) == (
        "load_model",
        "1.2.0",
        "1.1.0",
    )
    anomalies = doc["anomalies"]["items"]
    assert {a["series"] for a in anomalies} == {"OutOfMemoryError", "(all errors)"}
    assert all((a["day_of_week"], a["hour"], a["window_start_ns"]) == ("Sat", 14, MONDAY + BURST_HOUR * HOUR)
               for a in anomalies)  # fmt: skip
    assert [t["series"] for t in doc["trends"]["rising"]] == ["adapter_exported"]
    assert len(doc["heatmap"]["hour_of_week"]) == 168


def test_cli_since_narrows_the_range(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    after_burst = "2026-10-11T00:00:00+00:00"  # the day after the burst (day 20)
    doc = _cli_json(home, capsys, "--since", after_burst)
    assert doc["anomalies"]["items"] == []
    assert doc["trends"]["start_ns"] >= MONDAY + 20 * 24 * HOUR


def test_cli_table_names_series_version_and_hour(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insights", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    for text in (
        "Performance regressions",
        "load_model",
        "1.1.0 -> 1.2.0",
        "OutOfMemoryError",
        "Sat",
        "adapter_exported",
    ):
        assert text in out
    assert "Experiments\n(none recorded)" in out


def test_cli_refuses_a_bad_range(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insights", "--home", str(home), "--since", "2026-10-11", "--until", "2026-10-01"]) == 1
    assert "until must be after since" in capsys.readouterr().err
    assert main(["insights", "--home", str(home), "--since", "last tuesday"]) == 1


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    fixtures = _server_fixtures()
    with fixtures.live_server(tmp_path_factory.mktemp("api") / "home") as server:
        run_history(server.service, days=28, seed=5, installs=240)
        server.flush()
        yield server


def test_api_answers_the_insights_of_recorded_history(live: Any) -> None:
    with live.client(headers={"x-peft-token": live.token}) as http:
        response = http.post("/api/telemetry/insights", json={"goals": ["tutorial_completed"]})
    assert response.status_code == 200, response.text
    doc = response.json()
    assert set(doc) == KEYS
    report = InsightsReport.model_validate(doc)
    slow = [r for r in report.regressions.items if r.series == SLOW_SPAN]
    assert len(slow) == 1 and slow[0].version == "1.2.0" and slow[0].kind == "span"
    burst = [a for a in report.anomalies.items if a.series == "ConnectionError"]
    assert len(burst) == 1 and burst[0].hour == 14 and burst[0].day_of_week not in ("Sat", "Sun")
    assert [t.series for t in report.trends.rising][:1] == ["adapter_merged"]
    (experiment,) = report.experiments.items
    assert experiment.series == EXPERIMENT and experiment.enough_units and not experiment.srm_flagged
    assert [g.goal for g in experiment.goals] == ["tutorial_completed"]
    assert report.heatmap.versions == ["1.0.0", "1.1.0", "1.2.0", "1.2.1"]


def test_api_needs_the_token_and_refuses_bad_filters(live: Any) -> None:
    with live.client() as http:
        assert http.post("/api/telemetry/insights", json={}).status_code == 401
        assert http.post("/api/telemetry/insights", json={}, headers={"x-peft-token": "wrong"}).status_code == 403
    with live.client(headers={"x-peft-token": live.token}) as http:
        bad = http.post("/api/telemetry/insights", json={"since": "2026-10-11", "until": "2026-10-01"})
        assert bad.status_code == 422 and "until must be after since" in bad.text
        assert http.post("/api/telemetry/insights", json={"nonsense": 1}).status_code == 422
        assert http.post("/api/telemetry/insights", json={"alpha": 5}).status_code == 422
        assert http.post("/api/telemetry/insights").status_code == 200  # no body: everything
