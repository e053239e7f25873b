// Every page's frame: edit it, and `sitegate dev` shows the change at once.
import Link from "next/link";

export const metadata = { title: "A new Next.js site" };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>
        <nav>
          <Link href="/">Home</Link> · <Link href="/about/">About</Link>
        </nav>
        <main>{children}</main>
      </body>
    </html>
  );
}
