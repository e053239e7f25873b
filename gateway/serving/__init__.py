"""Serving a build: its file table, the HTTP rules for files, `_redirects`/`_headers`, and error pages.

Nothing here knows how a build is made."""
