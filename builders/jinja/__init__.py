"""The Jinja builder: pages, posts, feeds, assets, theme and Tailwind over the shared component library."""
