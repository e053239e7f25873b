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

export function renderPosts(list, posts) {
  list.replaceChildren(
    ...posts.map((post) => {
      const item = document.createElement('li')
      const title = document.createElement('h3')
      title.textContent = post.title
      item.append(title)
      if (post.published_at) {
        const date = document.createElement('time')
        date.dateTime = post.published_at
        date.textContent = new Date(post.published_at).toLocaleDateString()
        item.append(date)
      }
      if (post.summary) {
        const summary = document.createElement('p')
        summary.textContent = post.summary
        item.append(summary)
      }
      return item
    }),
  )
}
