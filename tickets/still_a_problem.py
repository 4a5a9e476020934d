"""Words that say a problem is not solved ("still not working", "问题还是没有解决").

Shared by the email channel (a reply to a resolved ticket reopens it only when it says so)
and the surveys (a detractor's comment that says so reopens the ticket it rates).
"""
from __future__ import annotations

import re

# Moved here unchanged from the email channel, so both read the same words.
STILL_A_PROBLEM = re.compile(
    r"still (?:a problem|an issue|broken|not working|happening|failing|the same)"
    r"|not (?:fixed|resolved|solved|working)|(?:does|did)n'?t (?:work|help|fix)"
    r"|please reopen|re-?open (?:the|this|my) (?:ticket|case|request)"
    r"|问题(?:仍然|依然|还|仍)(?:存在|没有?解决|在)|还是不行|还是有问题|仍然不行|依然不行"
    r"|没有解决|没解决|未解决|并未解决|重新打开",
    re.IGNORECASE)


def says_still_a_problem(text: str | None) -> bool:
    """Whether the text says the customer's problem is not solved."""
    return bool(text) and STILL_A_PROBLEM.search(text) is not None
