"""The knowledge base: articles, categories, versions, search, suggestions (deflection),
article feedback, drafts from resolved tickets, the public help centre."""
