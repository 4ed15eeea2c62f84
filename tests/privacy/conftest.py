"""Fixtures for the privacy engine's tests (helpers live in _privacy_helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _privacy_helpers import HOME, SECRET, WINDOWS_HOME, Pipeline, make_pipeline

from processors.anonymizer import Anonymizer, PrivacyPolicy


@pytest.fixture
def anon() -> Anonymizer:
    return Anonymizer(PrivacyPolicy(), secret=lambda: SECRET, home_dir=HOME)


@pytest.fixture
def win_anon() -> Anonymizer:
    return Anonymizer(PrivacyPolicy(), secret=lambda: SECRET, home_dir=WINDOWS_HOME)


@pytest.fixture
def pipeline(anon: Anonymizer) -> Iterator[Pipeline]:
    p = make_pipeline(anon)
    yield p
    p.provider.shutdown()
