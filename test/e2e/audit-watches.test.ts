// The drift audit's watches on the real apiserver (issue 14): watched from the resourceVersion
// of the scan's list, label-selected on the server, a watch reports a new locked object, a
// change, and an object that stops being locked (the apiserver sends DELETED when an object
// leaves the selector) within seconds; nothing listed before is replayed, and a stopped
// watch reports nothing more. The auditor judges each such event at once (ledger/auditor.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { KubeObject } from '../../src/admission/types.ts';
import { createKubeReader, loadKubeConfig, type KubeClient } from '../../src/cluster/kube-client.ts';
import { createLockWatches, type WatchEvent } from '../../src/ledger/watches.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { e2eCluster, kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { until } from './helpers/plugin.ts';
import { CONFIGMAPS } from '../helpers/resources.ts';

// Not Bulwark's lock label: the harness's Bulwark leaves these objects alone.
const LABEL = 'watch-e2e.bulwark.dev/locked';
const SELECTOR = `${LABEL}=true`;
const WITHIN_MS = 5_000;

let ns: string;
const seen: { type: WatchEvent; name: string; at: number }[] = [];
let reader: KubeClient;
const watches = createLockWatches({
  reader: { stream: (path, options) => reader.stream(path, options) },
  logger: createLogger('warn'),
  onEvent: (_resource, type, object: KubeObject) => {
    if (object.metadata?.namespace === ns) seen.push({ type, name: object.metadata.name ?? '', at: Date.now() });
  },
});

const configMap = (name: string) =>
  stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels: { [LABEL]: 'true' } } });

/** Milliseconds from `act` until an event of `type` for `name` arrives. */
async function latency(type: WatchEvent, name: string, act: () => Promise<unknown>): Promise<number> {
  const start = Date.now();
  await act();
  await until(async () => seen.some((e) => e.type === type && e.name === name && e.at >= start), WITHIN_MS);
  return seen.find((e) => e.type === type && e.name === name && e.at >= start)!.at - start;
}

beforeAll(async () => {
  reader = createKubeReader((await loadKubeConfig('required', e2eCluster().kubeconfig))!);
  ns = await newNamespace('watches');
  await kubectlOk(kubectl, ['create', '-f', '-'], { input: configMap('before') });
  const list = JSON.parse(
    await kubectlOk(kubectl, ['get', '--raw', `/api/v1/configmaps?labelSelector=${encodeURIComponent(SELECTOR)}`]),
  ) as { metadata: { resourceVersion: string } };
  watches.restart([{ resource: CONFIGMAPS, resourceVersion: list.metadata.resourceVersion }], SELECTOR);
});

afterAll(() => watches.stop());

describe('the audit`s watches', () => {
  it('report a new locked object, a change and an unlabelling within seconds; nothing listed is replayed', async () => {
    const added = await latency('ADDED', 'after', () =>
      kubectlOk(kubectl, ['create', '-f', '-'], { input: configMap('after') }),
    );
    const modified = await latency('MODIFIED', 'before', () =>
      kubectlOk(kubectl, ['patch', 'cm', 'before', '-n', ns, '-p', '{"data":{"color":"red"}}']),
    );
    const unlabelled = await latency('DELETED', 'before', () =>
      kubectlOk(kubectl, ['label', 'cm', 'before', '-n', ns, `${LABEL}-`]),
    );
    const deleted = await latency('DELETED', 'after', () => kubectlOk(kubectl, ['delete', 'cm', 'after', '-n', ns]));
    expect(seen.filter((e) => e.type === 'ADDED').map((e) => e.name)).toEqual(['after']);
    for (const ms of [added, modified, unlabelled, deleted]) expect(ms).toBeLessThan(WITHIN_MS);
    console.log(`watch latency ms: added ${added}, modified ${modified}, unlabelled ${unlabelled}, deleted ${deleted}`);
  });

  it('report nothing once stopped', async () => {
    expect(watches.open).toBe(1);
    watches.stop();
    expect(watches.open).toBe(0);
    const count = seen.length;
    await kubectlOk(kubectl, ['create', '-f', '-'], { input: configMap('late') });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(seen.length).toBe(count);
  });
});
