"""Values of every shape: JSON in strings, odd Python types, limits, valid OTel attribute output."""

from __future__ import annotations

import datetime as dt
import enum
import math
from pathlib import PurePosixPath

import orjson

from processors.anonymizer import Anonymizer


class Color(enum.Enum):
    RED = "red"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_json_inside_strings_is_scrubbed_as_structure(anon: Anonymizer) -> None:
    props = '{"lr": 0.0002, "auth": {"token": "t-1"}, "note": "[\\"x\\", \\"me@example.org\\"]"}'
    out, counts = anon.scrub_text(props)
    assert orjson.loads(out) == {"lr": 0.0002, "note": '["x","<email>"]'}
    assert counts == {"key.auth": 1, "value.email": 1}


def test_unchanged_json_keeps_its_exact_text(anon: Anonymizer) -> None:
    text = '{"lora_r": 16,   "alpha": 32}'
    assert anon.scrub_text(text) == (text, {})


def test_python_types_become_plain_data(anon: Anonymizer) -> None:
    value = {
        "when": dt.datetime(2024, 11, 28, 4, 50, 7),
        "path": PurePosixPath("/home/zqxalice/proj/train.py"),
        "raw": b"sent to ann@example.com",
        "tags": {"lora"},
        "color": Color.RED,
        "weird": Unprintable(),
        "nan": math.nan,
        "inf": -math.inf,
        "huge": 2**70,
    }
    cleaned, counts = anon.scrub_value(value)
    assert cleaned == {
        "when": "2024-11-28T04:50:07",
        "path": "train.py",
        "raw": "sent to <email>",
        "tags": ["lora"],
        "color": "red",
        "weird": "<unsupported>",
        "nan": "NaN",
        "inf": "-Infinity",
        "huge": str(2**70),
    }
    assert counts == {"path.home": 1, "value.email": 1, "value.unsupported_type": 1}


def test_attributes_are_flattened_to_valid_otel_values(anon: Anonymizer) -> None:
    attrs, _ = anon.scrub_attributes(
        {
            "cfg": {"lora": {"r": 16, "targets": ["q_proj", "v_proj"]}, "lr": 2e-4},
            "mixed": [1, 2.5],
            "messy": [1, "a", None],
            "rows": [{"a": 1}],
            "empty": [],
            "none": None,
            "nan": math.nan,
        }
    )
    assert attrs == {
        "cfg.lora.r": 16,
        "cfg.lora.targets": ("q_proj", "v_proj"),
        "cfg.lr": 2e-4,
        "mixed": (1.0, 2.5),
        "messy": '[1,"a",null]',
        "rows": '[{"a":1}]',
        "empty": (),
        "nan": "NaN",
    }


def test_depth_and_size_limits_stop_runaway_structures(anon: Anonymizer) -> None:
    loop: dict[str, object] = {}
    loop["self"] = loop
    cleaned, counts = anon.scrub_value(loop)
    depth = 0
    node = cleaned
    while isinstance(node, dict):
        node = node["self"]
        depth += 1
    assert node == "<truncated>" and depth <= 17
    assert counts["limit.depth"] == 1
    big, counts = anon.scrub_value(list(range(5000)))
    assert len(big) == 1000 and counts["limit.depth"] == 1


def test_keys_themselves_are_scrubbed(anon: Anonymizer) -> None:
    cleaned, counts = anon.scrub_value({"bob@example.com": 3, "/home/zqxalice/notes.txt": 1})
    assert cleaned == {"<email>": 3, "notes.txt": 1}
    assert counts == {"value.email": 1, "path.home": 1}
