import { TagList } from "@shared/components/blog";

// This site's own BlogPost, replacing the shared one: a different structure (date in the margin,
// summary as a lead). It still takes the API's post as it comes and uses the shared TagList.
export function BlogPost({ post }) {
  const day = String(post.published_at ?? "").slice(0, 10);
  return (
    <article id={post.slug} className="next-post my-10 grid gap-2 border-t-2 border-leaf pt-6 sm:grid-cols-[8rem_1fr]">
      <time dateTime={day} className="font-mono text-sm text-leaf">{day}</time>
      <div>
        <h2 className="text-2xl font-bold">{post.title}</h2>
        {post.summary ? <p className="next-post__lead italic">{post.summary}</p> : null}
        {String(post.body ?? "").split(/\n\s*\n/).filter(Boolean).map((part, index) => <p key={index}>{part}</p>)}
        <TagList tags={post.tags} className="next-post__tags" />
      </div>
    </article>
  );
}
