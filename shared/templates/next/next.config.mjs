// What sitegate's next preset needs: a static export into the folder it names, under its base
// path. Outside sitegate (plain `next dev`), Next's own defaults.
export default {
  output: "export",
  distDir: process.env.SITEGATE_NEXT_DIST_DIR || ".next",
  basePath: process.env.SITEGATE_BASE_PATH || "",
  trailingSlash: true,
};
