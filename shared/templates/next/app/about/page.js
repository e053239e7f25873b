export const metadata = { title: "About" };

export default function About() {
  return (
    <>
      <h1>About</h1>
      <p>A Next.js page at /about/.</p>
    </>
  );
}
