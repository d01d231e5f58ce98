// API resources as discovery (cluster/discovery.ts) describes them, for tests of the audit's lists.

import type { ApiResource } from '../../src/cluster/discovery.ts';

/** ConfigMaps (core v1, namespaced), listable and watchable. */
export const CONFIGMAPS: ApiResource = {
  group: '',
  version: 'v1',
  resource: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
  verbs: ['list', 'watch'],
};
