"""What every site shares: the component library, the templates `sitegate create` starts from, and the backend."""
