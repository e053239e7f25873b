"""Which site a request is for: Host names, the registry of sites/ and its rescans, and `sitegate create`."""
