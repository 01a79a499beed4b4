"""The HTTP API: app factory, routers, dependencies and error mapping."""
