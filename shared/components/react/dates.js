// Dates are written the same on the server and in the browser (no locale, no time zone), so a
// page hydrates without a mismatch: "2 March 2025", as the Jinja `date` filter writes it.
const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
]

export function isoDay(value) {
  return value ? String(value).slice(0, 10) : ''
}

export function longDate(value) {
  const day = isoDay(value)
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  return match ? `${Number(match[3])} ${MONTHS[Number(match[2]) - 1]} ${match[1]}` : day
}
