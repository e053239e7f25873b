import { useEffect, useState } from 'react'
import { PostList } from '@shared/components/blog'
import { Layout } from '@shared/components/layouts'
import { Hero } from '@shared/components/ui'
import { fetchPosts } from './posts.js'

// The shared components as they come, restyled by this site's own classes (style.css).
export function App() {
  const [{ posts, problem }, setPosts] = useState({ posts: [], problem: 'Loading posts…' })
  useEffect(() => {
    fetchPosts().then(setPosts)
  }, [])
  return (
    <Layout title="My Vite site" links={[{ label: 'Home', href: '/' }]} current="/" className="site">
      <Hero className="site-hero" title="My Vite site" subtitle="Built by Vite, served by sitegate, with the shared React components." />
      <h2>Latest posts</h2>
      <PostList className="site-posts" posts={posts} empty={<p className="status" role="status">{problem}</p>} />
    </Layout>
  )
}
