import './style.css'
import { fetchPosts, renderPosts } from './posts.js'

async function showPosts() {
  const status = document.getElementById('status')
  const { posts, problem } = await fetchPosts()
  renderPosts(document.getElementById('posts'), posts)
  status.textContent = problem ?? ''
  status.hidden = !problem
}

showPosts()
