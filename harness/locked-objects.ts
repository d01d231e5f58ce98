// Many locked ConfigMaps at once, for measurements (the drift audit's scan, the webhook's
// memory): `count` ConfigMaps of about 300 bytes spread over `namespaces` new namespaces
// `<prefix>-0`..., created 500 to a request.

import { stringify } from 'yaml';
import { kubectlOk, type Kubectl } from './kubectl.ts';

export async function createLockedConfigMaps(
  kubectl: Kubectl,
  options: { count: number; namespaces: number; prefix: string },
): Promise<void> {
  const per = Math.ceil(options.count / options.namespaces);
  for (let n = 0; n < options.namespaces; n++) {
    const namespace = `${options.prefix}-${n}`;
    await kubectlOk(kubectl, ['create', 'namespace', namespace]);
    for (let from = 0; from < per; from += 500) {
      const items = [];
      for (let i = from; i < Math.min(per, from + 500); i++)
        items.push({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${i}`, namespace, labels: { 'bulwark.dev/immutable': 'true' } },
          data: { index: String(i), payload: 'x'.repeat(200) },
        });
      await kubectlOk(kubectl, ['create', '-f', '-'], { input: stringify({ apiVersion: 'v1', kind: 'List', items }) });
    }
  }
}
