import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: socket and process tests run a few files at a time.
    maxWorkers: 2,
    // `vpsdns serve` spawned by tests answers DNS in-process unless a test passes --workers, and without
    // response rate limiting (tests query the same names from one address) unless a test turns it on.
    env: { VPSDNS_WORKERS: '0', VPSDNS_RRL_RATE: '0' },
  },
});
