import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default'],
    // `npm test` measures coverage over every tier (what runs in the test process: the
    // Bulwark processes the e2e cluster starts are not measured) and fails below these.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/policy/generated/**'],
      reporter: ['text-summary', 'json-summary', 'html'],
      // Measured over unit, integration and e2e on 2026-11-29: lines 94.5%, cli/ 84%,
      // config/ 100%, cluster/ 82% (before, with unit tests alone: 79%, 0%, 24%, 34%).
      thresholds: {
        lines: 88, // was 92: the merged loops (status, notifications, watches) run in e2e subprocesses, uncounted
        statements: 86,
        functions: 88,
        branches: 79,
        'src/cli/**': { lines: 80, statements: 75, functions: 70, branches: 65 },
        'src/config/**': { lines: 95, statements: 95, functions: 95, branches: 85 },
        'src/cluster/**': { lines: 80, statements: 75, functions: 75, branches: 60 },
      },
    },
    projects: [
      {
        extends: true,
        test: {
          // Pure and in-process: nothing but `npm ci` needed.
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          // Real registries, cosign, helm and the CLI as a process; no cluster
          // (`bash test/e2e/tools/build.sh --only test` builds what it needs).
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // One local control plane (etcd, kube-apiserver, Bulwark) for the whole e2e run;
          // its files share it and run one after another.
          globalSetup: ['test/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          // The suites issue 12 names (immutability, images, unlock, guards) again, on a cluster of
          // their own where Bulwark is registered by the chart's webhook entries (selectors, namespace
          // marks, matchConditions) instead of the catch-all. `npm run test:e2e-chart` runs all of e2e so.
          name: 'e2e-chart',
          include: [
            'test/e2e/immutability*.test.ts',
            'test/e2e/images.test.ts',
            'test/e2e/images-escapes.test.ts',
            'test/e2e/namespace-marks.test.ts',
            'test/e2e/guards.test.ts',
            'test/e2e/unlock.test.ts',
          ],
          globalSetup: ['test/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e-full',
          include: ['test/e2e-full/**/*.test.ts'],
          // One full single-node cluster (controllers, kubelet, containerd, kube-proxy;
          // Bulwark built from the Dockerfile and helm-installed) for the whole project. Needs root.
          globalSetup: ['test/e2e-full/global-setup.ts'],
          fileParallelism: false,
          // A group of its own (vitest runs groups one after another; the e2e project, without
          // parallelism, gets the next one): the node never competes with other tests for two cores.
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
