"""Extra data for bench/reports.py on top of bench/generate.py's tickets: what the issue 8
reports read that generate.py leaves empty or flat.

Everything is derived from the tickets already loaded, in the caller's transaction, with
`INSERT … SELECT` / `UPDATE … FROM` (one statement per table: faster than COPY because no
row leaves the server). Pseudo-random choices hash the ticket id (`mod(id * 2654435761, m)`), so
a reload gives the same data. At 1,000,000 tickets:

- tasks: 10 % of tickets ask 1–3 departments (the other four teams in turn) for something
  (~200,000 tasks): created 1–25 hours after the ticket, due 1–3 days later; done (80 %,
  finished before or after due), cancelled (5 %), still active on open tickets; the
  ticket's team is never asked;
- reopens: 6 % of resolved/closed tickets reopened once, 1 % twice or more (generate.py only
  marks tickets that are reopened right now);
- follow-ups: 2 % of tickets are follow-ups of an older ticket of the same contact range
  (follow_up_of_id), the customer coming back;
- satisfaction: bench/surveys_data.py's history (200,000 CSAT + 50,000 NPS invitations at
  --scale 1, ~75,000 answers, recovery follow-ups, opportunities), then every CSAT
  invitation and answer is pointed at its own resolved or closed ticket (team, agent,
  product and channel copied from it), so satisfaction by breach, reopens, departments and
  channel joins real tickets.
"""
from __future__ import annotations

import time

from generate import check_schema


TASK_COLUMNS = ["id", "ticket_id", "department_id", "title", "description", "expected_outcome",
                "status", "due_at", "created_at", "updated_at", "finished_at"]


def _h(modulus: int, column: str = "t.id") -> str:
    return f"mod({column}::bigint * 2654435761, {modulus})"


def load_tasks(cur) -> int:
    """Cross-department tasks on 10 % of tickets (see the module docstring)."""
    check_schema(cur, "tasks", TASK_COLUMNS)
    cur.execute("SELECT coalesce(max(id), 0) FROM tasks")
    base = cur.fetchone()[0]
    cur.execute("SELECT array_agg(id ORDER BY id) FROM teams")
    teams = cur.fetchone()[0]
    cur.execute(f"""
        WITH asked AS (
            SELECT t.id AS ticket_id, t.team_id, t.status, t.created_at, t.resolved_at,
                   n.n, {_h(1000)} AS r
            FROM tickets t
            CROSS JOIN LATERAL generate_series(1, 1 + {_h(3)}::int) AS n(n)
            WHERE {_h(10, 't.id + 7')} = 0),
        placed AS (
            SELECT asked.*,
                   (%(teams)s::int[])[1 + ((ticket_id + n * 3) %% cardinality(%(teams)s::int[]))]
                       AS department_id,
                   created_at + make_interval(hours => 1 + ((r + n * 7) %% 24)::int)
                       AS asked_at
            FROM asked)
        INSERT INTO tasks (id, ticket_id, department_id, title, description,
                           expected_outcome, status, due_at, created_at, updated_at,
                           finished_at)
        SELECT %(base)s + row_number() OVER (ORDER BY ticket_id, n), ticket_id, department_id,
               'Please check ' || ticket_id, '', '',
               CASE WHEN status IN ('resolved', 'closed') OR r < 700
                    THEN (CASE WHEN r %% 20 = 0 THEN 'cancelled' ELSE 'done' END)
                    WHEN r %% 3 = 0 THEN 'in_progress' ELSE 'open' END,
               asked_at + make_interval(days => 1 + (r %% 3)::int),
               asked_at, asked_at,
               CASE WHEN status IN ('resolved', 'closed') OR r < 700
                    -- 15 in 100 finish after their due time (due is 1–3 days after asking)
                    THEN asked_at + make_interval(hours => CASE WHEN r %% 100 < 15
                         THEN 24 * (1 + (r %% 3)::int) + 1 + (r %% 40)::int
                         ELSE 1 + (r %% 23)::int END) END
        FROM placed
        WHERE department_id IS DISTINCT FROM team_id""", {"teams": teams, "base": base})
    count = cur.rowcount
    cur.execute("SELECT setval(pg_get_serial_sequence('tasks', 'id'), "
                "(SELECT coalesce(max(id), 1) FROM tasks))")
    return count


def load_reopens_and_follow_ups(cur) -> tuple[int, int]:
    """Reopen counts on 7 % of finished tickets and follow_up_of_id on 2 % of tickets."""
    cur.execute(f"""UPDATE tickets t SET reopen_count = CASE WHEN {_h(100)} < 1 THEN 2 ELSE 1 END
                    WHERE status IN ('resolved', 'closed') AND {_h(100)} < 7""")
    reopened = cur.rowcount
    cur.execute(f"""UPDATE tickets t SET follow_up_of_id = t.id - 1 - {_h(500, 't.id + 3')}
                    WHERE {_h(50, 't.id + 11')} = 0
                      AND t.id - 1 - {_h(500, 't.id + 3')} >= (SELECT min(id) FROM tickets)""")
    return reopened, cur.rowcount


def point_csat_at_tickets(cur) -> int:
    """Give every CSAT invitation (and its answer) its own finished ticket, copying the
    ticket's team, agent, product and channel (uq_survey_invitations_ticket_csat holds)."""
    cur.execute("UPDATE survey_invitations SET ticket_id = NULL WHERE kind = 'csat'")
    cur.execute(f"""
        WITH inv AS (SELECT id, row_number() OVER (ORDER BY id) AS rn
                     FROM survey_invitations WHERE kind = 'csat'),
             fin AS (SELECT t.id, t.team_id, t.assignee_id, t.product, t.channel,
                            row_number() OVER (ORDER BY {_h(1000003)}, t.id) AS rn
                     FROM tickets t WHERE t.status IN ('resolved', 'closed'))
        UPDATE survey_invitations s SET ticket_id = fin.id, team_id = fin.team_id,
               agent_id = fin.assignee_id, product = fin.product, channel = fin.channel
        FROM inv JOIN fin USING (rn) WHERE s.id = inv.id""")
    pointed = cur.rowcount
    cur.execute("""UPDATE survey_responses r SET ticket_id = s.ticket_id, team_id = s.team_id,
                          agent_id = s.agent_id, product = s.product, channel = s.channel
                   FROM survey_invitations s
                   WHERE r.invitation_id = s.id AND r.kind = 'csat'""")
    return pointed


def load(conn, scale: float, seed: int) -> dict[str, int]:
    """All of the above in the caller's transaction; returns the sizes written."""
    import surveys_data

    t0 = time.monotonic()
    cur = conn.cursor()
    cur.execute("SET LOCAL synchronous_commit = off")
    sizes = {"tasks": load_tasks(cur)}
    sizes["reopened"], sizes["follow_ups"] = load_reopens_and_follow_ups(cur)
    print(f"tasks, reopens, follow-ups in {time.monotonic() - t0:.1f}s", flush=True)
    sizes.update({f"surveys_{key}": value for key, value in
                  surveys_data.load_history(conn, scale, seed).items()
                  if isinstance(value, int)})
    sizes["csat_on_tickets"] = point_csat_at_tickets(cur)
    print(f"report data in {time.monotonic() - t0:.1f}s", flush=True)
    return sizes
