// A component's own class first, then the site's: a site restyles by adding classes, and with
// Tailwind its utilities win over the plain sg-* rules, which set little and are not !important.
export function cx(...names) {
  return names.filter(Boolean).join(' ')
}
