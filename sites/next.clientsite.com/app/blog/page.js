import { BlogPost } from "../../components/BlogPost.js";
import { publishedPosts } from "../../lib/posts.js";

export const metadata = { title: "All posts · Leaf Notes" };

// Every post in full, one page: a static export cannot have a page per post when there are none
// yet (Next refuses an empty generateStaticParams), and this site starts with none.
export default function Blog() {
  const posts = publishedPosts();
  return posts.length ? posts.map((post) => <BlogPost key={post.id} post={post} />) : <p>No posts yet.</p>;
}
