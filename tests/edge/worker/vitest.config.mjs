// The Worker's tests run inside workerd through the Workers vitest pool, with
// the bindings of wrangler.toml: a real local R2 bucket and the Cache API.
// Run: npx vitest run --config tests/edge/worker/vitest.config.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { TRUSTED_KEYS } from './test_keys.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export default defineConfig({
  root,
  plugins: [
    cloudflareTest({
      main: path.join(root, 'wasm-edge/src/worker.mjs'),
      wrangler: { configPath: path.join(root, 'wrangler.toml') },
      // The test caches' keys instead of wrangler.toml's placeholder.
      miniflare: { bindings: { TRUSTED_KEYS: JSON.stringify(TRUSTED_KEYS), DEFAULT_CACHE: 'main' } },
    }),
  ],
  test: {
    include: ['tests/edge/worker/**/*.test.mjs'],
    testTimeout: 30000,
  },
});
