"""Building a site: single-flight builds, one build step in a worker, fingerprints, and builds on disk."""
