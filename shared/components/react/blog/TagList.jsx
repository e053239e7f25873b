import { cx } from '../classes.js'

// A post's tags as the blog API gives them (strings), or as { name, href, count }. They link
// only when the site says where: `tagHref(name)`, or a tag's own href.
export function TagList({ tags, className, counts = false, tagHref, ...rest }) {
  if (!tags?.length) return null
  return (
    <ul className={cx('sg-tags', className)} {...rest}>
      {tags.map((tag) => {
        const item = typeof tag === 'string' ? { name: tag } : tag
        const href = item.href ?? tagHref?.(item.name)
        return (
          <li key={item.name}>
            {href ? <a href={href} rel="tag">{item.name}</a> : <span>{item.name}</span>}
            {counts && item.count != null ? <span className="sg-tags__count"> ({item.count})</span> : null}
          </li>
        )
      })}
    </ul>
  )
}
