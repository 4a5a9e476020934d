from service import jobs
from service.extensions import db
from sqlalchemy import select

RAN = []

@jobs.job(queue="default")
def probe(value):
    RAN.append(value)

def test_probe(app):
    db.session.execute(select(1))
    jobs.enqueue(probe, 1)
    with db.session.begin_nested():
        pass
    print("ran before outer commit:", RAN)
    db.session.rollback()
    print("after rollback:", RAN)
