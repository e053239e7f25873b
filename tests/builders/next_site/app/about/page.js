export default function About() { return <p>A Next page at /about/.</p>; }
