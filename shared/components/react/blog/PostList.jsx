import { cx } from '../classes.js'
import { PostCard } from './PostCard.jsx'

// The `items` of /api/blog/posts, as they come, as cards. `card` swaps the card component for a
// site's own (same props), `cardClassName` restyles every card.
export function PostList({ posts, className, cardClassName, card: Card = PostCard, empty, href, tagHref, ...rest }) {
  return (
    <div className={cx('sg-post-list', className)} {...rest}>
      {posts?.length
        ? posts.map((post) => <Card key={post.id ?? post.slug} post={post} className={cardClassName} href={href} tagHref={tagHref} />)
        : (empty ?? <p>No posts yet.</p>)}
    </div>
  )
}
