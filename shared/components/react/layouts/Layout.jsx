import { cx } from '../classes.js'
import { Footer } from '../ui/Footer.jsx'
import { Nav } from '../ui/Nav.jsx'

// The frame of a page inside <body>: nav, main, footer. It renders no <html> or <head>, so it
// fits an Astro page, a Next layout and a Vite root alike. `nav` or `footer` replaces that part
// (false leaves it out).
export function Layout({ title, links, current, nav, footer, className, mainClassName, children, ...rest }) {
  return (
    <div className={cx('sg-body', className)} {...rest}>
      {nav === undefined ? <Nav links={links} current={current} brand={title} /> : nav || null}
      <main className={cx('sg-main', mainClassName)}>{children}</main>
      {footer === undefined ? <Footer text={title ? `© ${title}` : undefined} /> : footer || null}
    </div>
  )
}
