import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const API = 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  // '@twarga/contract' resolves to its TypeScript source ("development" export) in dev and in
  // build, so the web UI never depends on the contract having been compiled first.
  resolve: { conditions: ['development', 'module', 'browser', 'default'] },
  server: {
    proxy: {
      '/api': { target: API, changeOrigin: false },
      '/health': { target: API, changeOrigin: false },
    },
  },
  preview: {
    proxy: {
      '/api': { target: API, changeOrigin: false },
      '/health': { target: API, changeOrigin: false },
    },
  },
  build: { outDir: 'dist', emptyOutDir: true },
});
