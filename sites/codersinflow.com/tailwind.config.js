// codersinflow.com: a bright blue theme. The colours come from /theme.css ([theme] in site.toml),
// so site.toml stays the one place to change them. sitegate passes the rendered pages as content.
/** @type {import('tailwindcss').Config} */
module.exports = {
  content: [],
  theme: {
    extend: {
      colors: {
        primary: "var(--primary)",
        dark: "var(--dark)",
        light: "var(--light)",
        flow: { 50: "#eff6ff", 100: "#dbeafe", 500: "#3b82f6", 700: "#1d4ed8", 900: "#1e3a8a" },
      },
      fontFamily: { sans: ["var(--font-body)"] },
      borderRadius: { flow: "1.25rem" },
    },
  },
};
