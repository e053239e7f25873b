"""Side-by-side performance runs against peers (``make bench``); results go to RESULTS.md."""
