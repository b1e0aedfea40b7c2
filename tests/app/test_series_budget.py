"""Series per metric after a fixed traffic mix, against the committed budget.

A new label value, a new metric or a change of buckets changes these numbers: the test
fails until series_budget.json is rewritten on purpose, with the test database env set:
`PYTHONPATH=.:tests/app python tests/app/series_count.py tests/app/series_budget.json`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUDGET = HERE / "series_budget.json"


def test_series_per_metric_match_the_budget(migrated, tmp_path):
    out = tmp_path / "series.json"
    env = {**os.environ, "PYTHONPATH": f"{HERE.parents[1]}{os.pathsep}{HERE}"}
    result = subprocess.run(
        [sys.executable, str(HERE / "series_count.py"), str(out)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    series = json.loads(out.read_text())
    assert not [n for n in series if n.endswith("_created")], "prometheus_client _created series are back"
    budget = json.loads(BUDGET.read_text())
    changed = {
        n: (budget.get(n), series.get(n)) for n in budget.keys() | series.keys() if budget.get(n) != series.get(n)
    }
    assert not changed, f"series per metric changed (budget, now): {changed}; total now {sum(series.values())}"
