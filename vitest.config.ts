import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/e2e/**', 'test/e2e-full/**'],
          testTimeout: 30_000,
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
