import { cx } from '../classes.js'

// The site's links ({ label, href }); the one equal to `current` is marked for readers and CSS.
export function Nav({ links = [], current, brand, brandHref = '/', className, ...rest }) {
  return (
    <nav className={cx('sg-nav', className)} {...rest}>
      {brand ? <a className="sg-nav__brand" href={brandHref}>{brand}</a> : null}
      {links.map((link) => (
        <a key={link.href} className="sg-nav__link" href={link.href} aria-current={link.href === current ? 'page' : undefined}>
          {link.label}
        </a>
      ))}
    </nav>
  )
}
