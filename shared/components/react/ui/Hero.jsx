import { cx } from '../classes.js'
import { Button } from './Button.jsx'

// The opening of a page: title, subtitle and a call to action ({ label, href }). `children` come
// after the action; `slots` replaces a part (heading, subtitle, actions).
export function Hero({ title, subtitle, cta, className, slots = {}, children, ...rest }) {
  return (
    <section className={cx('sg-hero', className)} {...rest}>
      {slots.heading?.() ?? <h1 className="sg-hero__title">{title}</h1>}
      {slots.subtitle?.() ?? (subtitle ? <p className="sg-hero__subtitle">{subtitle}</p> : null)}
      {slots.actions?.() ?? (cta ? <Button href={cta.href}>{cta.label}</Button> : null)}
      {children}
    </section>
  )
}
