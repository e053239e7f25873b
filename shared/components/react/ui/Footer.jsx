import { cx } from '../classes.js'

export function Footer({ text, links = [], className, children, ...rest }) {
  return (
    <footer className={cx('sg-footer', className)} {...rest}>
      {children ?? (text ? <p>{text}</p> : null)}
      {links.map((link) => <a key={link.href} href={link.href}>{link.label}</a>)}
    </footer>
  )
}
