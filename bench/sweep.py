"""Time one SLA sweep in-process: `python bench/sweep.py` (DATABASE_URL, REDIS_URL set).

Prints one JSON line: seconds spent in tickets.sla_sweep.sweep() (app start-up excluded),
the sweep's stats, and how many tickets were due before and are still due after.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from service import create_app


def main() -> None:
    app = create_app()
    with app.app_context():
        from service.db_types import utcnow
        from service.extensions import db
        from tickets.models import Ticket
        from tickets.sla_sweep import sweep

        def due_now() -> int:
            return db.session.scalar(select(func.count()).select_from(Ticket)
                                     .where(Ticket.sla_next_check_at <= utcnow()))

        before = due_now()
        db.session.commit()
        started = time.perf_counter()
        stats = sweep(batch_size=app.config["SLA_SWEEP_BATCH"])
        seconds = time.perf_counter() - started
        after = due_now()
        db.session.commit()
    print(json.dumps({"seconds": round(seconds, 3), "checked": stats.checked,
                      "warnings": stats.warnings, "breaches": stats.breaches,
                      "due_before": before, "due_after": after,
                      "batch_size": app.config["SLA_SWEEP_BATCH"]}))


if __name__ == "__main__":
    main()
