"""Live chat from an embeddable widget: each conversation is a ticket on the chat channel.

The visitor's widget (static/widget.js) talks to api.py with a per-session bearer token;
when no agent answers within CHAT_AGENT_WAIT_SECONDS the chat hands off to email.
"""
