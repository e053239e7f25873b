import { PostList } from "@shared/components/blog";
import { Hero } from "@shared/components/ui";
import { publishedPosts } from "../lib/posts.js";

export default function Home() {
  return (
    <>
      <Hero title="A new Next.js site" subtitle="Pages live in app/; the site's /api is the shared backend." className="rounded-xl" />
      <PostList posts={publishedPosts()} className="grid gap-4" />
    </>
  );
}
