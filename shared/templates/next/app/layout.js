// Every page's frame: the shared Layout (nav, main, footer). Edit it, and `sitegate dev` shows
// the change at once.
import { Layout } from "@shared/components/layouts";
import "./globals.css";

export const metadata = { title: "A new Next.js site" };

const links = [
  { label: "Home", href: "/" },
  { label: "About", href: "/about/" },
];

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>
        <Layout title="A new Next.js site" links={links} className="min-h-screen">
          {children}
        </Layout>
      </body>
    </html>
  );
}
