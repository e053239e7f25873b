export { Layout } from './Layout.jsx'
