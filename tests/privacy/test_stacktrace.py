"""Stack traces and error messages: useful for debugging, silent about the machine and the data."""

from __future__ import annotations

import traceback

from processors.anonymizer import Anonymizer

SOURCE = """
def load(path):
    secret_local = "hunter2-local-value"
    raise FileNotFoundError(f"No such file: {path}\\ncontact alice@example.com")

def main():
    load("/home/zqxalice/data/private.csv")
"""


def real_traceback() -> str:
    """A traceback Python itself formatted, for code that lives under the user's home folder."""
    namespace: dict[str, object] = {}
    exec(compile(SOURCE, "/home/zqxalice/projects/acme-secret/train.py", "exec"), namespace)
    try:
        namespace["main"]()  # type: ignore[operator]
    except FileNotFoundError:
        return traceback.format_exc()
    raise AssertionError("unreachable")


def test_real_traceback_keeps_what_debugging_needs(anon: Anonymizer) -> None:
    trace = real_traceback()
    out, counts = anon.scrub_stacktrace(trace)
    assert out.startswith("Traceback (most recent call last):")
    assert 'File "train.py", line 7, in main' in out
    assert 'File "train.py", line 4, in load' in out
    assert out.splitlines()[-1] == "FileNotFoundError: No such file: private.csv"
    for leak in ("zqxalice", "acme-secret", "projects", "hunter2", "alice@example.com", "raise ", 'load("'):
        assert leak not in out
    assert counts["path.home"] >= 2


def test_package_frames_keep_their_package_path(anon: Anonymizer) -> None:
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/home/zqxalice/.venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1501, '
        "in _call_impl\n"
        "    return forward_call(*args, **kwargs)\n"
        "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        '  File "C:\\Users\\Bob\\miniconda3\\Lib\\site-packages\\peft\\tuners\\lora\\layer.py", line 497, in forward\n'
        "    result = self.base_layer(x, *args, **kwargs)\n"
        "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
        "    x = tensor([1, 2])\n"
    )
    out, counts = anon.scrub_stacktrace(trace)
    assert out == (
        "Traceback (most recent call last):\n"
        '  File "torch/nn/modules/module.py", line 1501, in _call_impl\n'
        '  File "peft/tuners/lora/layer.py", line 497, in forward\n'
        "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"
    )
    assert counts["stacktrace.dropped_lines"] == 4
    assert counts["path.package"] == 2


def test_chained_exceptions_and_groups(anon: Anonymizer) -> None:
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/a.py", line 1, in <module>\n'
        "KeyError: 'user alice@example.com'\n"
        "\n"
        "During handling of the above exception, another exception occurred:\n"
        "\n"
        "  + Exception Group Traceback (most recent call last):\n"
        '  |   File "/srv/app/b.py", line 2, in run\n'
        "  | ExceptionGroup: many (1 sub-exception)\n"
        "  +-+---------------- 1 ----------------\n"
        "    | ValueError: token=abc123\n"
        "    +------------------------------------\n"
    )
    out, _ = anon.scrub_stacktrace(trace)
    assert "alice@example.com" not in out and "abc123" not in out and "/srv/app" not in out
    assert "KeyError: '<text>'" in out
    assert "During handling of the above exception, another exception occurred:" in out
    assert '  |   File "b.py", line 2, in run' in out
    assert "    | ValueError: token=<redacted>" in out


def test_non_traceback_text_is_treated_as_a_message(anon: Anonymizer) -> None:
    out, counts = anon.scrub_stacktrace("something broke for bob@example.com\nsecond line with /home/bob/x")
    assert out == "something broke for <email>"
    assert counts == {"message.extra_lines": 1, "value.email": 1}


def test_error_message_first_line_only(anon: Anonymizer) -> None:
    out, counts = anon.scrub_error_message("Failed to open /Users/carol/data.csv\nuser=carol\ntoken=xyz")
    assert out == "Failed to open data.csv"
    assert counts == {"message.extra_lines": 1, "path.other_home": 1}


def test_recorded_exception_in_a_real_span(pipeline, anon: Anonymizer) -> None:  # type: ignore[no-untyped-def]
    tracer = pipeline.provider.get_tracer("t")
    with tracer.start_as_current_span("load") as span:
        try:
            open("/home/zqxalice/private/ledger.csv")  # noqa: SIM115
        except OSError as exc:
            span.record_exception(exc)
    (stored,) = pipeline.spans()
    (event,) = stored.events
    assert event.attributes["exception.type"] == "FileNotFoundError"
    assert event.attributes["exception.message"] == "[Errno 2] No such file or directory: 'ledger.csv'"
    assert "zqxalice" not in event.attributes["exception.stacktrace"]
    assert "test_stacktrace.py" in event.attributes["exception.stacktrace"]


def test_message_continuation_lines_never_pass_as_exception_names(anon: Anonymizer) -> None:
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/x.py", line 3, in run\n'
        "RuntimeError: first line\n"
        "MIIEsecretblock0000\n"
        "KeyboardInterrupt\n"
    )
    out, counts = anon.scrub_stacktrace(trace)
    assert out == 'Traceback (most recent call last):\n  File "x.py", line 3, in run\nRuntimeError: first line'
    assert counts["stacktrace.dropped_lines"] == 2


def test_repeated_traces_give_the_same_result_and_counts(anon: Anonymizer) -> None:
    trace = real_traceback()
    first = anon.scrub_stacktrace(trace)
    second = anon.scrub_stacktrace(trace)  # served from the frame cache this time
    assert first == second
