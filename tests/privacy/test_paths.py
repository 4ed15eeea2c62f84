"""Paths: the home folder in every spelling, other users' folders, package frames, routes kept."""

from __future__ import annotations

import pytest
from _privacy_helpers import HOME_USER

from processors.anonymizer import Anonymizer

POSIX_HOME_SPELLINGS = [
    "/home/zqxalice/runs/exp1/adapter.bin",
    "/HOME/ZqxAlice/runs/exp1/adapter.bin",
    "\\home\\zqxalice\\runs\\exp1\\adapter.bin",
    "file:///home/zqxalice/runs/exp1/adapter.bin",
    "%2Fhome%2Fzqxalice%2Fruns%2Fexp1%2Fadapter.bin",
    "%2fhome%2fzqxalice%2fruns%2fadapter.bin",
    "~/runs/exp1/adapter.bin",
]


@pytest.mark.parametrize("path", POSIX_HOME_SPELLINGS)
def test_home_paths_keep_only_the_file_name(anon: Anonymizer, path: str) -> None:
    out, counts = anon.scrub_text(f"saved to {path} ok")
    assert out == "saved to adapter.bin ok"
    assert counts == {"path.home": 1}


WINDOWS_HOME_SPELLINGS = [
    "C:\\Users\\ZqxAlice\\proj\\train.py",
    "c:\\users\\zqxalice\\proj\\train.py",
    "C:/Users/ZqxAlice/proj/train.py",
    "C:\\\\Users\\\\ZqxAlice\\\\proj\\\\train.py",  # as it appears inside JSON text
    "file:///C:/Users/ZqxAlice/proj/train.py",
    "C%3A%5CUsers%5CZqxAlice%5Cproj%5Ctrain.py",
    "/c/Users/ZqxAlice/proj/train.py",
    "/mnt/c/Users/ZqxAlice/proj/train.py",
]


@pytest.mark.parametrize("path", WINDOWS_HOME_SPELLINGS)
def test_windows_home_in_every_spelling(win_anon: Anonymizer, path: str) -> None:
    out, counts = win_anon.scrub_text(f"open {path}")
    assert out == "open train.py"
    assert counts == {"path.home": 1}


def test_home_folder_alone_becomes_tilde(anon: Anonymizer, win_anon: Anonymizer) -> None:
    assert anon.scrub_text("cwd=/home/zqxalice")[0] == "cwd=~"
    assert anon.scrub_text("HOME /home/zqxalice/")[0] == "HOME ~"
    assert win_anon.scrub_text("in C:\\Users\\ZqxAlice")[0] == "in ~"


def test_home_prefix_of_another_user_is_not_the_home(anon: Anonymizer) -> None:
    out, counts = anon.scrub_text("/home/zqxalicebob/notes.txt")
    assert out == "notes.txt"
    assert counts == {"path.other_home": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/home/bob/data/train.jsonl", "train.jsonl"),
        ("/Users/carol/Desktop/x.csv", "x.csv"),
        ("C:\\Users\\dave\\Documents\\y.txt", "y.txt"),
        ("/home/bob", "<home>"),
        ("/Users/carol/", "<home>"),
        ("C:\\Users\\dave", "<home>"),
        ("/mnt/nfs/home/erin", "<home>"),
    ],
)
def test_other_users_lose_their_name(anon: Anonymizer, text: str, expected: str) -> None:
    out, counts = anon.scrub_text(text)
    assert out == expected
    assert counts == {"path.other_home": 1}


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        (
            "/opt/conda/lib/python3.11/site-packages/torch/nn/modules/module.py",
            "torch/nn/modules/module.py",
            "path.package",
        ),
        ("C:\\Python311\\Lib\\site-packages\\peft\\tuners\\lora.py", "peft/tuners/lora.py", "path.package"),
        ("/usr/lib/python3.11/json/decoder.py", "json/decoder.py", "path.package"),
        (
            "/home/zqxalice/.venv/lib/python3.11/site-packages/transformers/trainer.py",
            "transformers/trainer.py",
            "path.package",
        ),
        ("/tmp/tmpa1b2/adapter_config.json", "adapter_config.json", "path.absolute"),
        ("/workspace/secret-project/ckpt/model.safetensors", "model.safetensors", "path.absolute"),
        ("\\\\fileserver\\team\\models\\base.bin", "base.bin", "path.absolute"),
        ("\\\\fileserver\\team", "<path>", "path.absolute"),
        ("./data/private/train.jsonl", "train.jsonl", "path.relative"),
        ("D:\\datasets\\medical\\notes.parquet", "notes.parquet", "path.absolute"),
    ],
)
def test_bare_paths_keep_their_file_name(anon: Anonymizer, text: str, expected: str, rule: str) -> None:
    out, counts = anon.scrub_text(text)
    assert out == expected
    assert counts == {rule: 1}


@pytest.mark.parametrize(
    "route",
    ["/api/telemetry/events", "/api/telemetry/consent", "/v1/traces", "/docs", "/static/app.js", "/models/llama"],
)
def test_http_routes_are_not_paths(anon: Anonymizer, route: str) -> None:
    assert anon.scrub_text(route) == (route, {})


def test_file_name_itself_is_scanned(anon: Anonymizer) -> None:
    out, _ = anon.scrub_text("/home/bob/exports/carol@example.com.csv")
    assert "carol" not in out
    out, _ = anon.scrub_text(f"/data/{HOME_USER}")
    assert HOME_USER not in out


def test_path_values_in_attributes(anon: Anonymizer) -> None:
    attrs, counts = anon.scrub_attributes(
        {"output_dir": "/home/zqxalice/runs/exp1", "code.filepath": "/srv/app/train.py", "http.route": "/api/x"}
    )
    assert attrs == {"output_dir": "exp1", "code.filepath": "train.py", "http.route": "/api/x"}
    assert counts == {"path.home": 1, "path.absolute": 1}
