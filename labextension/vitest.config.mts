// Unit tests of the pure TypeScript parts (REST client, WebSocket client, run list reducer):
// they run in Node against fakes of fetch and WebSocket, no browser and no Jupyter server.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Lab's packages ship ES modules in .js files without "type": "module": Vite must transform them
    server: { deps: { inline: [/@jupyterlab\//, /@lumino\//] } }
  }
});
