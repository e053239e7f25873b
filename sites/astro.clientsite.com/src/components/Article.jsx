import { BlogPost } from '@shared/components/blog'

// The shared BlogPost, extended: this site's classes on it, and its own meta line (a slot),
// with the reading time. Everything else is the shared component's.
export function Article({ post }) {
  const words = String(post.body ?? '').split(/\s+/).filter(Boolean).length
  return (
    <BlogPost
      post={post}
      className="astro-article prose-invert font-display text-lg"
      slots={{
        meta: () => (
          <p className="sg-post__meta astro-article__meta text-ember">
            {String(post.published_at ?? '').slice(0, 10)} · {Math.max(1, Math.round(words / 200))} min read
          </p>
        ),
      }}
    />
  )
}
