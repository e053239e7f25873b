// The published posts, fetched by sitegate from the blog API before the build (site.toml's
// [data] posts) and handed over as a JSON file: a new post makes a new build. `next dev` has no
// such file, so the pages show no posts there.
import { readFileSync } from "node:fs";

export function publishedPosts() {
  const file = process.env.SITEGATE_DATA;
  if (!file) return [];
  const data = JSON.parse(readFileSync(file, "utf8"));
  // The gateway hands over a listing's items (the API's `items`) as they come.
  return Array.isArray(data.posts) ? data.posts : [];
}
