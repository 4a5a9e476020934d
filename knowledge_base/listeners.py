"""Every knowledge-base subscriber and registration with other domains' pages (imported
once by the app factory): ticket events, the ticket page's panel and reply drafts, the
request forms' suggestion slot, the leads' dashboard section."""
from __future__ import annotations

import knowledge_base.ticket_listeners  # noqa: F401
import knowledge_base.ticket_panel  # noqa: F401
import knowledge_base.suggest_slot  # noqa: F401
import knowledge_base.dashboard  # noqa: F401
