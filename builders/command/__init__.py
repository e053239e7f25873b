"""A site's own toolchain (`npm run build` and the vite, astro and next presets), run as a process."""
