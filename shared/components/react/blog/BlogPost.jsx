import { cx } from '../classes.js'
import { isoDay, longDate } from '../dates.js'
import { TagList } from './TagList.jsx'

// A post's body from the API is Markdown written by editors, not operator code: shown as plain
// paragraphs unless the site renders it itself and passes the result as `children`.
function Paragraphs({ text }) {
  return String(text ?? '')
    .split(/\n\s*\n/)
    .filter((part) => part.trim())
    .map((part, index) => <p key={index}>{part.trim()}</p>)
}

// A whole post: title, date, tags and body. `slots` replaces a part (title, meta, tags, body).
export function BlogPost({ post, className, tagHref, slots = {}, children, ...rest }) {
  const date = post.published_at ?? post.date
  return (
    <article className={cx('sg-post', className)} {...rest}>
      <header className="sg-post__header">
        {slots.title?.(post) ?? <h1 className="sg-post__title">{post.title}</h1>}
        {slots.meta?.(post) ?? (
          <p className="sg-post__meta">
            {date ? <time dateTime={isoDay(date)}>{longDate(date)}</time> : null}
            {post.status === 'draft' ? <> · <strong>Draft</strong></> : null}
          </p>
        )}
        {slots.tags?.(post) ?? <TagList tags={post.tags} tagHref={tagHref} />}
      </header>
      {slots.body?.(post) ?? <div className="sg-post__body">{children ?? <Paragraphs text={post.body} />}</div>}
    </article>
  )
}
