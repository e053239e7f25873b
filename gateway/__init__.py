"""The aiohttp server: which site a request is for, building it, serving it, forwarding `/api`, and development mode."""
