"""HTTP gateway: the web chat, channel webhooks and health checks."""
