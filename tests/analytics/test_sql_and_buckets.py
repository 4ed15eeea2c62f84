"""The SQL agrees with the schema module, and time buckets are round, aligned, few enough and cover the range."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from _analytics_helpers import create_log
from hypothesis import given
from hypothesis import strategies as st

from analytics import queries, timebuckets


@pytest.mark.parametrize("name", sorted(queries.ALL))
def test_every_statement_binds_against_the_schema(name: str, tmp_path: Path) -> None:
    # The binder resolves every table and column: a name the schema does not have fails here.
    path = tmp_path / "schema.duckdb"
    create_log(path)
    sql = queries.ALL[name]
    params = dict.fromkeys(set(re.findall(r"\$([a-z_]+)", sql)))
    with duckdb.connect(str(path)) as con:
        con.execute(f"EXPLAIN {sql}", params).fetchall()


def test_json_paths_only_from_allowlisted_keys() -> None:
    assert queries._json_path("http.route") == "'$.\"http.route\"'"
    for hostile in ['a"b', "a' OR 1=1", "a b", ""]:
        with pytest.raises(ValueError):
            queries._json_path(hostile)


def test_plan_example() -> None:
    hour = 3600 * 10**9
    assert timebuckets.plan(0, 24 * hour - 1, 24) == timebuckets.Plan(0, hour, 24)
    assert timebuckets.plan(5, 5, 60) == timebuckets.Plan(0, 10**9, 1)


@given(
    first=st.integers(0, 2**62),
    length=st.integers(0, 2**61),
    buckets=st.integers(1, timebuckets.MAX_BUCKETS),
)
def test_plan_covers_the_range_with_round_aligned_buckets(first: int, length: int, buckets: int) -> None:
    last = first + length
    p = timebuckets.plan(first, last, buckets)
    assert 1 <= p.buckets <= buckets
    assert p.origin_ns % p.width_ns == 0  # aligned to the epoch
    assert p.origin_ns <= first < p.origin_ns + p.width_ns
    assert p.origin_ns + (p.buckets - 1) * p.width_ns <= last < p.origin_ns + p.buckets * p.width_ns
    year = timebuckets.WIDTHS_NS[-1]
    assert p.width_ns in timebuckets.WIDTHS_NS or p.width_ns % year == 0
    if p.width_ns in timebuckets.WIDTHS_NS[1:]:  # the next smaller round width would not fit
        smaller = timebuckets.WIDTHS_NS[timebuckets.WIDTHS_NS.index(p.width_ns) - 1]
        assert last // smaller - first // smaller + 1 > buckets


def test_plan_refuses_bucket_counts_out_of_range() -> None:
    for bad in (0, timebuckets.MAX_BUCKETS + 1):
        with pytest.raises(ValueError):
            timebuckets.plan(0, 10, bad)
