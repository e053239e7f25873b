import { Layout } from "@shared/components/layouts";
import "./globals.css";

export const metadata = { title: "Leaf Notes" };

const links = [
  { label: "Home", href: "/" },
  { label: "All posts", href: "/blog/" },
];

// The shared Layout as it is, with this site's classes.
export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>
        <Layout title="Leaf Notes" links={links} className="next-site min-h-screen" mainClassName="max-w-2xl">
          {children}
        </Layout>
      </body>
    </html>
  );
}
