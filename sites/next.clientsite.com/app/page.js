import { PostCard } from "@shared/components/blog";
import { publishedPosts } from "../lib/posts.js";

// The shared PostCard, restyled with Tailwind; each links to the post on /blog/.
export default function Home() {
  const posts = publishedPosts();
  return (
    <>
      <h1 className="next-title my-8 font-mono text-4xl text-leaf">Leaf Notes</h1>
      {posts.length ? null : <p>No posts yet.</p>}
      <div className="grid gap-4 sm:grid-cols-2">
        {posts.map((post) => (
          <PostCard key={post.id} post={post} className="next-card bg-white shadow-sm" href={(item) => `/blog/#${item.slug}`} />
        ))}
      </div>
    </>
  );
}
