// darkflows.com: red on black, monospace, sharp corners. Its own palette and scale, unrelated to
// any other site's; the theme colours come from /theme.css ([theme] in site.toml).
/** @type {import('tailwindcss').Config} */
module.exports = {
  content: [],
  darkMode: "class",
  theme: {
    extend: {
      colors: {
        blood: { 400: "#f87171", 600: "var(--primary)", 900: "#450a0a" },
        ink: { 900: "var(--dark)", 800: "#0a0a0a", 700: "#171717" },
        accent: "var(--accent)",
      },
      fontFamily: { mono: ["var(--font-body)"] },
      letterSpacing: { terminal: "0.08em" },
      boxShadow: { glow: "0 0 24px rgba(220, 38, 38, 0.45)" },
    },
  },
};
