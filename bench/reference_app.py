"""The ceiling: bare Flask + psycopg, one connection per gunicorn worker.

    cd bench && DATABASE_URL=postgresql://... gunicorn -w 2 reference_app:app
"""
import os

import psycopg
from flask import Flask, request
from psycopg.rows import dict_row

app = Flask(__name__)
db = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True, row_factory=dict_row)
db.execute("""CREATE TABLE IF NOT EXISTS bench_ref (id serial PRIMARY KEY, subject text NOT NULL,
              body text NOT NULL, email text NOT NULL, created_at timestamptz DEFAULT now())""")


@app.post("/items")
def create():
    data = request.get_json()
    row = db.execute("INSERT INTO bench_ref (subject, body, email) VALUES (%s, %s, %s) "
                     "RETURNING *", (data["subject"], data["body"], data["email"])).fetchone()
    return row, 201


@app.get("/items")
def recent():
    return {"items": db.execute("SELECT * FROM bench_ref ORDER BY id DESC LIMIT 50").fetchall()}
