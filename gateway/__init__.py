"""The ASGI application: HTTP transport, authentication and request context."""
