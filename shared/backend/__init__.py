"""The shared multi-tenant backend: blog, auth and media APIs behind one store interface."""
