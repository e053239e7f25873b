export default function Home() { return <h1>Built by Next</h1>; }
