"""Article suggestions under the request forms' subject (the web form and the portal's new
request page), shown through the "request_form" slot so those pages never import us."""
from __future__ import annotations

from service.slots import register_slot

register_slot("request_form", "knowledge_base/_request_form_suggestions.html")
