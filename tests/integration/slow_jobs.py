"""A job for RQ crash tests: the app's own jobs finish too fast to be killed mid-way.

The worker imports this module by its dotted path (`tests.integration.slow_jobs.hold`),
so it must stay importable from the project root without the test fixtures.
"""
from __future__ import annotations

import os
import time
from pathlib import Path


def hold(marker: str, seconds: float) -> str:
    """First run: write the work-horse's pid to `marker`, then sleep. A retry returns at once."""
    path = Path(marker)
    if path.exists():
        return "second attempt"
    path.write_text(str(os.getpid()))
    time.sleep(seconds)
    return "finished"
