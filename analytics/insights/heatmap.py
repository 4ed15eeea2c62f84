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

#: One pass for both maps: GROUPING SETS aggregate the same joined rows two ways. Versions come from the
#: resources table (few rows, JSON parsed once each), joined by id.
HEATMAP: Final = f"""
WITH {VERSIONS}
SELECT ((start_ns // {DAY_NS}) + 3) % 7 AS dow, (start_ns // {HOUR_NS}) % 24 AS hour,
       coalesce(event_type, '') AS feature, coalesce(version, 'unknown') AS version, count(*), min(start_ns)
FROM {SPANS} LEFT JOIN versions USING (resource_id)
WHERE {_EVENTS}
GROUP BY GROUPING SETS ((dow, hour), (feature, version))
"""


def compute(scope: Scope) -> Heatmap:
    grid: dict[tuple[int, int], int] = {}
    rows = []
    for dow, hour, feature, version, n, first in scope.rows(HEATMAP):
        if feature is None:
            grid[(dow, hour)] = n
        else:
            rows.append((feature, version, n, first))
    cells = [HeatCell(day_of_week=d, hour=h, count=grid.get((d, h), 0)) for d in range(7) for h in range(24)]
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
