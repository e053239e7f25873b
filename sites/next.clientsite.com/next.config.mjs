// What sitegate's next preset needs: a static export into the folder it names, under its base
// path. Outside sitegate (plain `next dev`), Next's own defaults.
// sitegate links the shared React library into node_modules/@shared/components before every build
// and dev server; transpilePackages has Next compile its JSX, and Next's own React serves it.
export default {
  output: "export",
  distDir: process.env.SITEGATE_NEXT_DIST_DIR || ".next",
  basePath: process.env.SITEGATE_BASE_PATH || "",
  trailingSlash: true,
  transpilePackages: ["@shared/components"],
};
