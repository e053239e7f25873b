"""Operating sitegate: the commands beyond serve (``sitegate sites``, ``sitegate rollback``),
which read and change the build folder with or without a running gateway, and what shows the
gateway at work (metrics, the access log, the log format)."""
