"""Several gateways sharing builds: the build store (object storage) and coordination (MongoDB)."""
