import { defineConfig } from 'vitest/config'
import react from '@vitejs/plugin-react'

// The UI is served by signalgate itself at /, beside the API; during
// development `vite` proxies the API to a running server.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: {
    proxy: { '/admin': 'http://127.0.0.1:8080', '/v1': 'http://127.0.0.1:8080', '/openapi.json': 'http://127.0.0.1:8080' },
  },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
})
