export default function Home() {
  return (
    <>
      <h1>A new Next.js site</h1>
      <p>Pages live in app/; the site&apos;s /api is the shared backend.</p>
    </>
  );
}
