import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['__tests__/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Load tests measure rates: running files in parallel on two cores would make them measure each other.
    fileParallelism: false,
  },
});
