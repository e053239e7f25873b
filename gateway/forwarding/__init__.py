"""`/api` to the site's backend: HTTP streamed both ways, and WebSockets, with the tenant set by the gateway."""
