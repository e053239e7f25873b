import { cx } from '../classes.js'

// A box with an optional title (a link with `href`); `children` is its body, else `body` as text.
export function Card({ title, body, href, className, children, ...rest }) {
  return (
    <div className={cx('sg-card', className)} {...rest}>
      {title ? <h3 className="sg-card__title">{href ? <a href={href}>{title}</a> : title}</h3> : null}
      {children ?? (body ? <p className="sg-card__body">{body}</p> : null)}
    </div>
  )
}
