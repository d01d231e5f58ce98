// `kubectl bulwark status`'s audit section (cli/plugin/drift.ts) on reports as the audit writes
// them (ledger/report.ts): drift lines, then the running Pods whose images no longer pass,
// counted by their worst result, one line per image.

import { describe, expect, it } from 'vitest';
import type { CallResult } from '../../../src/cluster/kube-client.ts';
import { printDrift } from '../../../src/cli/plugin/drift.ts';
import type { Session } from '../../../src/cli/plugin/session.ts';

const pod = (name: string, result: string, field: string) => ({
  policy: 'bulwark-images',
  rule: 'shop',
  result,
  message: `image "registry.local:5000/shop/${name}@sha256:..." (${field}) ${result}s`,
  resources: [{ apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name, uid: `uid-${name}` }],
});

function session(results: unknown[]): Session {
  const call = async (_method: string, path: string): Promise<CallResult> =>
    path.includes('/namespaces/shop/')
      ? { status: 200, body: { items: [{ results }] } }
      : { status: 200, body: { items: [] } };
  return { namespace: 'shop', client: { call } } as unknown as Session;
}

async function printed(results: unknown[]): Promise<string[]> {
  const lines: string[] = [];
  await printDrift(session(results), false, (l) => lines.push(l));
  return lines;
}

describe('kubectl bulwark status: what the audit found', () => {
  it('counts running Pods by their worst result and lists each image apart from drift', async () => {
    const lines = await printed([
      {
        policy: 'bulwark-seals',
        rule: 'changed',
        result: 'fail',
        message: 'ConfigMap shop/x changed outside the rules',
      },
      pod('a', 'fail', 'spec.containers[0].image'),
      pod('a', 'error', 'spec.containers[1].image'),
      pod('b', 'error', 'spec.containers[0].image'),
      pod('c', 'warn', 'spec.initContainers[0].image'),
    ]);
    expect(lines).toEqual([
      'Drift (found by the audit):',
      '  changed: ConfigMap shop/x changed outside the rules',
      'Running Pods whose images no longer pass: 1 failing, 1 unverifiable, 1 warned',
      '  fail Pod shop/a: image "registry.local:5000/shop/a@sha256:..." (spec.containers[0].image) fails',
      '  error Pod shop/a: image "registry.local:5000/shop/a@sha256:..." (spec.containers[1].image) errors',
      '  error Pod shop/b: image "registry.local:5000/shop/b@sha256:..." (spec.containers[0].image) errors',
      '  warn Pod shop/c: image "registry.local:5000/shop/c@sha256:..." (spec.initContainers[0].image) warns',
    ]);
  });

  it('says none failing when the report lists none', async () => {
    expect(await printed([])).toEqual([
      'Drift (found by the audit):',
      '  (none)',
      'Running Pods whose images no longer pass: 0 failing, 0 unverifiable',
    ]);
  });
});
