import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// TWARGA_API_URL points the dev/preview proxy at another API server (e.g. a throw-away mock).
const API = process.env.TWARGA_API_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  // '@twarga/contract' resolves to its TypeScript source ("development" export) in dev and in
  // build, so the web UI never depends on the contract having been compiled first.
  resolve: { conditions: ['development', 'module', 'browser', 'default'] },
  server: {
    proxy: {
      // ws: the browser terminal's websocket (/api/terminal/ws) goes through the proxy too.
      '/api': { target: API, changeOrigin: false, ws: true },
      '/health': { target: API, changeOrigin: false },
    },
  },
  preview: {
    proxy: {
      '/api': { target: API, changeOrigin: false, ws: true },
      '/health': { target: API, changeOrigin: false },
    },
  },
  build: { outDir: 'dist', emptyOutDir: true },
});
