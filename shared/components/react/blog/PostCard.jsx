import { cx } from '../classes.js'
import { isoDay, longDate } from '../dates.js'
import { TagList } from './TagList.jsx'

export const postHref = (post) => `/blog/${post.slug}/`

// One item of /api/blog/posts in a list. `slots` replaces a part (title, meta, summary, tags),
// as a Jinja site overrides a block: each slot is a function of the post.
export function PostCard({ post, className, summary = true, href = postHref, tagHref, slots = {}, ...rest }) {
  const date = post.published_at ?? post.date
  return (
    <article className={cx('sg-post-card', className)} {...rest}>
      {slots.title?.(post) ?? (
        <h2 className="sg-post-card__title">
          <a href={href(post)}>{post.title}</a>
        </h2>
      )}
      {slots.meta?.(post) ?? (date ? <time className="sg-post-card__date" dateTime={isoDay(date)}>{longDate(date)}</time> : null)}
      {slots.summary?.(post) ?? (summary && post.summary ? <p className="sg-post-card__summary">{post.summary}</p> : null)}
      {slots.tags?.(post) ?? <TagList tags={post.tags} tagHref={tagHref} />}
    </article>
  )
}
