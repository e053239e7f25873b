"""Development mode: file watching, live reload in open tabs, and framework sites' own dev servers."""
