// `kubectl bulwark why -f FILE --snapshot SNAPSHOT`: `why` without a cluster, decided by
// `bulwark check`'s code against a snapshot: the locked ConfigMap's change is denied with
// the webhook's message and the unlock command; the allowed scale and the new Service
// are allowed; exit 1 because one change would be denied. `-o json` carries the same.

import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import { plugin } from '../../../src/cli/plugin/main.ts';
import { run } from '../../helpers/run-cli.ts';

const EXAMPLE = resolve(import.meta.dirname, '..', '..', '..', 'examples', 'check');
const args = ['why', '-f', `${EXAMPLE}/manifests/app.yaml`, '--snapshot', `${EXAMPLE}/snapshot.yaml`];

describe('why --snapshot (offline)', () => {
  it('says what the webhook would decide, without a cluster', async () => {
    const r = await run(plugin, args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'ConfigMap payments/app-config: this change would be denied: ConfigMap payments/app-config is locked',
    );
    expect(r.stdout).toContain('to ask for the unlock: kubectl bulwark unlock request configmap/app-config');
    expect(r.stdout).toContain('Deployment payments/web: this change would be allowed');
    expect(r.stdout).toContain('Service payments/web: this change would be allowed');
  });

  it('prints JSON with -o json, and is there under `bulwark why` too', async () => {
    const r = await run(main, [...args, '-o', 'json']);
    expect(r.code).toBe(1);
    const results = JSON.parse(r.stdout) as { object: string; outcome: string }[];
    expect(results.map((x) => [x.object, x.outcome])).toEqual([
      ['ConfigMap payments/app-config', 'denied'],
      ['Deployment payments/web', 'allowed'],
      ['Service payments/web', 'allowed'],
    ]);
  });

  it('exits non-zero with the problem on a missing snapshot', async () => {
    const r = await run(plugin, ['why', '-f', `${EXAMPLE}/manifests/app.yaml`, '--snapshot', '/nonexistent.yaml']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('cannot read /nonexistent.yaml');
  });
});
