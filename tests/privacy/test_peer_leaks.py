"""One regression test per leak peers were caught with (docs/design-notes.md: what peers leak), on real spans."""

from __future__ import annotations

import hashlib
import logging

import pytest
from _privacy_helpers import SECRET, Pipeline, all_strings, make_pipeline
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from processors.anonymizer import Anonymizer
from processors.anonymizing import AnonymizingSpanProcessor

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLWJ5dGVzLWhlcmUx"


def stored(pipeline: Pipeline) -> list[str]:
    (span,) = pipeline.spans()
    return all_strings(span)


def assert_absent(strings: list[str], *needles: str) -> None:
    for needle in needles:
        hits = [s for s in strings if needle in s]
        assert not hits, f"{needle!r} survived in {hits}"


def test_logfire_1909_marker_never_echoes_the_secret(pipeline: Pipeline) -> None:
    secret = "hunter2-Very-Secret-99"
    with pipeline.provider.get_tracer("t").start_as_current_span("login", attributes={"note": f"password={secret}"}):
        pass
    strings = stored(pipeline)
    assert_absent(strings, secret, secret[:8], "hunter2")
    assert "note" in dict(pipeline.spans()[0].attributes)


def test_logfire_1504_url_query_tokens(pipeline: Pipeline) -> None:
    url = "https://api.example.com/v1/models?api_key=k-12345-abc&access_token=at-987&page=2"
    with pipeline.provider.get_tracer("t").start_as_current_span("GET", attributes={"http.url": url}):
        pass
    (span,) = pipeline.spans()
    assert span.attributes["http.url"] == ("https://<host>/v1/models?api_key=<redacted>&access_token=<redacted>&page=2")


def test_logfire_exception_messages_are_scrubbed(pipeline: Pipeline) -> None:
    with pipeline.provider.get_tracer("t").start_as_current_span("call") as span:
        span.record_exception(PermissionError("denied for carol@example.com using sk-ant-api03-AbCd1234EfGh5678IjKl"))
    strings = stored(pipeline)
    assert_absent(strings, "carol@example.com", "AbCd1234")


def test_logfire_keyword_patterns_missed_anthropic_and_slack_tokens(pipeline: Pipeline) -> None:
    attrs = {"prompt_note": "use sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt3 then xoxb-1234567890-0987654321-AbCdEfGh"}
    with pipeline.provider.get_tracer("t").start_as_current_span("chat", attributes=attrs):
        pass
    assert_absent(stored(pipeline), "Zz9Yy8Xx", "1234567890-0987654321")


def test_logfire_wrapper_failed_open_we_fail_closed(caplog: pytest.LogCaptureFixture) -> None:
    def broken_secret() -> bytes:
        raise RuntimeError("secret store unavailable")

    exporter = InMemorySpanExporter()
    drops: list[int] = []
    processor = AnonymizingSpanProcessor(
        Anonymizer(secret=broken_secret), SimpleSpanProcessor(exporter), on_drop=lambda: drops.append(1)
    )
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            with tracer.start_as_current_span("e", attributes={"user_id": "raw-user-777"}):
                pass  # hashing user_id needs the secret, which raises: the span must not pass
        with tracer.start_as_current_span("fine", attributes={"lora_r": 8}):
            pass
    provider.shutdown()
    assert [s.name for s in exporter.get_finished_spans()] == ["fine"]
    assert processor.dropped == 3 and len(drops) == 3
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1  # logged once
    assert "raw-user-777" not in caplog.text and "secret store unavailable" not in caplog.text


def test_sentry_7542_key_variants(pipeline: Pipeline) -> None:
    attrs = {"access_token": "AT-1a2b3c", "client_secret": "CS-4d5e6f", "secret_key": "SK-7g8h9i", "X-Api-Key": "XK-0j"}
    with pipeline.provider.get_tracer("t").start_as_current_span("auth", attributes=attrs):
        pass
    assert_absent(stored(pipeline), "AT-1a2b3c", "CS-4d5e6f", "SK-7g8h9i", "XK-0j")


def test_sentry_7620_nested_keys(anon: Anonymizer) -> None:
    props = {"request": {"headers": {"Authorization": "Basic Zm9vOmJhcg==", "x": [{"password": "p4ss-word"}]}}}
    attrs, _ = anon.scrub_attributes(props)
    flat = " ".join(f"{k}={v}" for k, v in attrs.items())
    assert "Zm9vOmJhcg" not in flat and "p4ss-word" not in flat


def test_sentry_4441_query_strings(pipeline: Pipeline) -> None:
    attrs = {"http.target": "/api/cb?code=xyz&token=tk-55&email=dan%40example.com", "url.query": "session_token=s-66"}
    with pipeline.provider.get_tracer("t").start_as_current_span("GET /api/cb", attributes=attrs):
        pass
    assert_absent(stored(pipeline), "tk-55", "dan%40example.com", "dan@example.com", "s-66")


def test_sentry_users_paths_in_exception_messages(pipeline: Pipeline) -> None:
    with pipeline.provider.get_tracer("t").start_as_current_span("x") as span:
        for i in range(3):
            span.record_exception(OSError(f"cannot read /Users/erinsmith/Documents/run{i}/config.yaml"))
        span.set_status(Status(StatusCode.ERROR, "failed in /Users/erinsmith/Documents"))
    assert_absent(stored(pipeline), "erinsmith", "Documents/run")


def test_otel_collector_36633_jwt_in_span_events(pipeline: Pipeline) -> None:
    with pipeline.provider.get_tracer("t").start_as_current_span("x") as span:
        span.add_event("auth.refresh", {"detail": f"new token {JWT}", "raw": JWT})
    assert_absent(stored(pipeline), JWT[:20], "c2lnbmF0dXJl")


def test_otel_collector_37799_span_names_and_scope_attributes() -> None:
    anonymizer = Anonymizer(secret=lambda: SECRET, home_dir="/home/zqxalice")
    pipeline = make_pipeline(anonymizer, Resource.create({"host.name": "frank-laptop", "service.name": "peft"}))
    tracer = pipeline.provider.get_tracer(
        "plugin", "1.0", attributes={"owner_email": "frank@example.com", "origin": "frank@example.com"}
    )
    with tracer.start_as_current_span("upload for frank@example.com"):
        pass
    strings = stored(pipeline)
    assert_absent(strings, "frank@example.com", "frank-laptop")
    (span,) = pipeline.spans()
    assert span.name == "upload for <email>"
    assert span.resource.attributes["service.name"] == "peft"
    pipeline.provider.shutdown()


def test_otel_collector_unsalted_hashes(anon: Anonymizer) -> None:
    value = anon.scrub_value({"user_id": "1001"})[0]["user_id"]
    for plain in (hashlib.sha256(b"1001").hexdigest(), hashlib.md5(b"1001").hexdigest()):
        assert not plain.startswith(value)
    other = Anonymizer(secret=lambda: b"x" * 32).scrub_value({"user_id": "1001"})[0]["user_id"]
    assert other != value  # keyed: another install cannot recompute it


def test_vscode_292742_stack_traces_stay_useful(anon: Anonymizer) -> None:
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/home/zqxalice/proj/train.py", line 88, in train_loop\n'
        "    loss = model(batch)\n"
        '  File "/opt/venv/lib/python3.11/site-packages/transformers/models/llama/modeling_llama.py", '
        "line 1050, in forward\n"
        "RuntimeError: shape mismatch: [4, 512] vs [4, 1024]\n"
    )
    out, _ = anon.scrub_stacktrace(trace)
    assert 'File "train.py", line 88, in train_loop' in out
    assert 'File "transformers/models/llama/modeling_llama.py", line 1050, in forward' in out
    assert out.endswith("RuntimeError: shape mismatch: [4, 512] vs [4, 1024]")


def test_links_are_scrubbed(pipeline: Pipeline) -> None:
    tracer = pipeline.provider.get_tracer("t")
    with tracer.start_as_current_span("parent") as parent:
        ctx = parent.get_span_context()
    with tracer.start_as_current_span("child", links=[Link(ctx, {"contact_note": "gina@example.com"})]):
        pass
    child = pipeline.spans()[-1]
    assert child.links[0].attributes == {"contact_note": "<email>"}
    assert child.links[0].context == ctx
