import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default'],
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
