// The shared backend knows this site by its Host header, so a same-origin call is all it takes.
const POSTS_URL = '/api/blog/posts?per_page=10'

export async function fetchPosts(fetchImpl = fetch) {
  let response
  try {
    response = await fetchImpl(POSTS_URL, { headers: { Accept: 'application/json' } })
  } catch {
    return { posts: [], problem: 'The blog cannot be reached right now.' }
  }
  if (!response.ok) {
    return { posts: [], problem: `The blog is not available right now (${response.status}).` }
  }
  const body = await response.json().catch(() => null)
  const posts = Array.isArray(body?.items) ? body.items : []
  return { posts, problem: posts.length ? null : 'No posts yet.' }
}
