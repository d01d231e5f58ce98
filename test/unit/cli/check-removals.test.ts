// `bulwark check --base`: a pull request that deletes a locked object's manifest would,
// under Argo CD or Flux pruning, delete the object. The manifests before the change are
// compared with the new set; what only the base names is checked as a DELETE, denied
// when locked, with the UnlockRequest command for the deletion. A rename (other name or
// kind) is a delete and a create. A namespace deleted with locked objects inside is
// refused by the deletion guard, as the webhook refuses it.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import { run } from '../../helpers/run-cli.ts';

const EXAMPLE = resolve(import.meta.dirname, '..', '..', '..', 'examples', 'check');
const BASE = join(EXAMPLE, 'manifests');
const SNAPSHOT = join(EXAMPLE, 'snapshot.yaml');
const NOW = '2026-11-29T10:30:00Z';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: payments
  labels: { app: web, bulwark.dev/immutable: "true" }
spec:
  replicas: 2
`;
const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: payments }
spec:
  selector: { app: web }
  ports: [{ port: 80 }]
`;

async function newSet(...docs: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-check-base-'));
  await writeFile(join(dir, 'app.yaml'), docs.join('---\n'));
  return dir;
}

const check = (dir: string, ...more: string[]) =>
  run(main, ['check', '-f', dir, '--base', BASE, '--snapshot', SNAPSHOT, '--now', NOW, ...more]);

describe('bulwark check --base', () => {
  it('reports a locked object whose manifest was deleted as a denied DELETE, with the unlock command', async () => {
    const r = await check(await newSet(DEPLOYMENT, SERVICE));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('DENY ConfigMap payments/app-config (deleted, locked,');
    expect(r.stdout).toContain('ConfigMap payments/app-config is locked (labelled bulwark.dev/immutable=true)');
    expect(r.stdout).toContain(
      'needs an UnlockRequest with 2 approvals from platform-leads (ImmutabilityPolicy prod-config), at most 2h ' +
        'for the deletion:',
    );
    expect(r.stdout).toContain(
      "kubectl bulwark unlock request configmap/app-config -n payments --operation DELETE --reason 'TODO:",
    );
    expect(r.stdout).toContain('2 manifests, 1 removed: 1 would be denied, 2 allowed');
    const json = JSON.parse((await check(await newSet(DEPLOYMENT, SERVICE), '-o', 'json')).stdout);
    const deleted = json.results.find((x: { operation: string }) => x.operation === 'DELETE');
    expect(deleted).toMatchObject({ target: 'ConfigMap payments/app-config', allowed: false, locked: true });
    expect(deleted.patch).toBeUndefined();
  });

  it('allows removing an object that is not locked', async () => {
    const cm = `apiVersion: v1
kind: ConfigMap
metadata: { name: app-config, namespace: payments, labels: { bulwark.dev/immutable: "true" } }
data: { color: blue, region: eu-west-1 }
`;
    const r = await check(await newSet(cm, DEPLOYMENT), '-o', 'json');
    expect(r.code).toBe(0);
    const results = JSON.parse(r.stdout).results;
    expect(results).toContainEqual(
      expect.objectContaining({ operation: 'DELETE', target: 'Service payments/web', allowed: true }),
    );
  });

  it('sees a rename as a delete of the old name (denied: locked) and a create of the new one', async () => {
    const renamed = `apiVersion: v1
kind: ConfigMap
metadata: { name: app-config-v2, namespace: payments, labels: { bulwark.dev/immutable: "true" } }
data: { color: blue, region: eu-west-1 }
`;
    const r = await check(await newSet(renamed, DEPLOYMENT, SERVICE), '-o', 'json');
    expect(r.code).toBe(1);
    const results = JSON.parse(r.stdout).results;
    expect(results).toContainEqual(
      expect.objectContaining({ operation: 'CREATE', target: 'ConfigMap payments/app-config-v2', allowed: true }),
    );
    expect(results).toContainEqual(
      expect.objectContaining({ operation: 'DELETE', target: 'ConfigMap payments/app-config', allowed: false }),
    );
    // Another kind under the same name is a rename too.
    const secret = renamed.replace('kind: ConfigMap', 'kind: Secret').replace('app-config-v2', 'app-config');
    const kind = JSON.parse((await check(await newSet(secret, DEPLOYMENT, SERVICE), '-o', 'json')).stdout);
    expect(kind.results).toContainEqual(
      expect.objectContaining({ operation: 'DELETE', target: 'ConfigMap payments/app-config', allowed: false }),
    );
  });

  it('refuses removing a namespace that still holds locked objects (the deletion guard)', async () => {
    const base = await newSet('apiVersion: v1\nkind: Namespace\nmetadata: { name: payments }\n', DEPLOYMENT);
    const r = await run(main, [
      'check',
      '-f',
      await newSet(DEPLOYMENT),
      '--base',
      base,
      '--snapshot',
      SNAPSHOT,
      '--now',
      NOW,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('DENY Namespace payments (deleted, exists,');
    expect(r.stdout).toContain('Namespace payments still holds locked objects (ConfigMap app-config, Deployment web)');
  });

  it('exits 2 when the base cannot be read', async () => {
    const r = await check(await newSet(DEPLOYMENT), '--base', '/nonexistent/base');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot read /nonexistent/base');
  });
});
