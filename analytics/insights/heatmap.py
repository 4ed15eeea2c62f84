"""Usage heatmaps: events by UTC hour of day x day of week, and by event type x app version.

UTC, not the install's local time: the log stores UTC nanoseconds only, and storing a local offset would
record roughly where the user lives. What the UTC map still reveals, and the docs say so: for one install,
when its user works (shifted by their offset); across installs, a blend of time zones. Day of week and
hour are integer arithmetic on ``start_ns`` (1970-01-01 was a Thursday), cheap at 10M rows.
"""

from __future__ import annotations

from typing import Final

from analytics.insights._scope import DAY_NS, EXPOSURE_EVENT, HOUR_NS, RANGE, VERSIONS, Scope
from analytics.insights.models import FeatureVersionCell, HeatCell, Heatmap
from exporters.eventlog.schema import SPANS

_TOP_FEATURES: Final = 30
_EVENTS: Final = f"category = 'event' AND event_type IS DISTINCT FROM '{EXPOSURE_EVENT}' AND {RANGE}"

HOUR_OF_WEEK: Final = f"""
SELECT ((start_ns // {DAY_NS}) + 3) % 7 AS dow, (start_ns // {HOUR_NS}) % 24 AS hour, count(*)
FROM {SPANS} WHERE {_EVENTS}
GROUP BY ALL
"""

#: Grouped by resource first (few), versions joined after: the JSON of each resource is parsed once.
FEATURE_BY_VERSION: Final = f"""
WITH {VERSIONS}, per_resource AS (
    SELECT coalesce(event_type, '') AS feature, resource_id, count(*) AS n, min(start_ns) AS first_ns
    FROM {SPANS} WHERE {_EVENTS}
    GROUP BY ALL
)
SELECT feature, coalesce(version, 'unknown'), sum(n), min(first_ns)
FROM per_resource LEFT JOIN versions USING (resource_id)
GROUP BY ALL
"""


def compute(scope: Scope) -> Heatmap:
    grid = {(dow, hour): n for dow, hour, n in scope.rows(HOUR_OF_WEEK)}
    cells = [HeatCell(day_of_week=d, hour=h, count=grid.get((d, h), 0)) for d in range(7) for h in range(24)]
    rows = scope.rows(FEATURE_BY_VERSION)
    feature_totals: dict[str, int] = {}
    version_totals: dict[str, int] = {}
    version_first: dict[str, int] = {}
    for feature, version, n, first in rows:
        feature_totals[feature] = feature_totals.get(feature, 0) + n
        version_totals[version] = version_totals.get(version, 0) + n
        version_first[version] = min(first, version_first.get(version, first))
    features = sorted(feature_totals, key=lambda f: (-feature_totals[f], f))[:_TOP_FEATURES]
    versions = sorted(version_totals, key=lambda v: (version_first[v], v))
    kept = set(features)
    by_version = [
        FeatureVersionCell(feature=f, version=v, count=n, share=round(n / version_totals[v], 6))
        for f, v, n, _ in rows
        if f in kept
    ]
    order = {f: i for i, f in enumerate(features)}
    rank = {v: i for i, v in enumerate(versions)}
    by_version.sort(key=lambda c: (order[c.feature], rank[c.version]))
    return Heatmap(hour_of_week=cells, versions=versions, features=features, feature_by_version=by_version)
