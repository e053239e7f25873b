// sitegate links the shared React library into node_modules/@shared/components before every build
// and dev server, as a workspace link. Its files live outside this folder, so `react` in a shared
// component is deduped: it resolves from this site's node_modules, one React for the whole page.
import react from '@astrojs/react'
import tailwindcss from '@tailwindcss/vite'
import { defineConfig } from 'astro/config'

export default defineConfig({
  integrations: [react()],
  vite: {
    plugins: [tailwindcss()],
    resolve: { dedupe: ['react', 'react-dom'] },
  },
})
