"""Operating Loopdesk: request ids and structured logs, Prometheus metrics, the `check`
command."""
