import { cx } from '../classes.js'

// A link when `href` is given, else a button. `variant`: primary or secondary.
export function Button({ href, variant = 'primary', className, children, label, ...rest }) {
  const classes = cx('sg-button', `sg-button--${variant}`, className)
  if (href) {
    return <a href={href} className={classes} {...rest}>{children ?? label}</a>
  }
  return <button type="button" className={classes} {...rest}>{children ?? label}</button>
}
