export { BlogPost } from './BlogPost.jsx'
export { PostCard, postHref } from './PostCard.jsx'
export { PostList } from './PostList.jsx'
export { TagList } from './TagList.jsx'
