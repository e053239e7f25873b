// sitegate links the shared React library into node_modules/@shared/components before every build
// and dev server, as a workspace link. Its files live outside this folder, so:
// - dedupe: `react` in a shared component resolves from this site's node_modules (one React);
// - fs.allow: the dev server may serve them (and hot-reloads an edit of one).
import { realpathSync } from 'node:fs'
import react from '@vitejs/plugin-react'
import { defineConfig, searchForWorkspaceRoot } from 'vite'

const shared = realpathSync('node_modules/@shared/components')

export default defineConfig({
  plugins: [react()],
  resolve: { dedupe: ['react', 'react-dom'] },
  server: { fs: { allow: [searchForWorkspaceRoot(process.cwd()), shared] } },
})
