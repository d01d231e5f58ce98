// Policy CRDs watched live against the real apiserver: created, changed and deleted
// with kubectl, validated at admission, reported in status, and in force within
// seconds. Every policy here is scoped to the test's own namespace, and removed at the end.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { e2eCluster, kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { whileWebhookIsAway } from './helpers/webhook-away.ts';

const created: string[] = [];

function policy(name: string, spec: Record<string, unknown>, labels?: Record<string, string>): string {
  return stringify({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'ImmutabilityPolicy',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec,
  });
}

async function applyPolicy(name: string, spec: Record<string, unknown>, labels?: Record<string, string>) {
  const r = await kubectl(['apply', '-f', '-'], { input: policy(name, spec, labels) });
  if (r.code === 0 && !created.includes(name)) created.push(name);
  return r;
}

function lockedConfigMap(namespace: string, name: string, color: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
    data: { color },
  });
}

/** A server-side dry-run change of the locked ConfigMap: what the webhook says right now. */
const probeChange = (ns: string, name = 'cfg') =>
  kubectl(['patch', 'configmap', name, '-n', ns, '--dry-run=server', '-p', `{"data":{"color":"x${Date.now()}"}}`]);

async function timeUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

afterAll(async () => {
  for (const name of created) await kubectl(['delete', 'immutabilitypolicy', name, '--ignore-not-found']);
});

describe('ImmutabilityPolicy CRD', () => {
  it('is installed with short names and printer columns', async () => {
    const r = await kubectl(['api-resources', '--api-group=bulwark.dev', '-o', 'wide']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/immutabilitypolicies\s+imp,immpol\s+bulwark\.dev\/v1alpha1\s+false\s+ImmutabilityPolicy/);
    expect(r.stdout).toMatch(/imagepolicies\s+imgpol\s+bulwark\.dev\/v1alpha1\s+false\s+ImagePolicy/);
  });
});

describe('policies take effect live', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await newNamespace('pol');
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: lockedConfigMap(ns, 'cfg', 'blue') });
  });

  /**
   * A namespace whose locked ConfigMap is created after `spec`'s policy: a policy that is
   * looser than what governed an existing locked object needs an UnlockRequest
   * (governance.test.ts), one made before the object is just how it was locked.
   */
  async function lockedUnder(name: string, spec: Record<string, unknown>): Promise<string> {
    const fresh = await newNamespace('pol');
    expect((await applyPolicy(`${name}-${fresh}`, { match: { namespaces: [fresh] }, ...spec })).code).toBe(0);
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: lockedConfigMap(fresh, 'cfg', 'blue') });
    return fresh;
  }

  it('a new policy is in force moments after its creation (the time is logged)', async () => {
    expect((await probeChange(ns)).stderr).not.toContain('Ask #platform.');
    const started = Date.now();
    // As strict as the built-in default it replaces, with a message: no agreement needed.
    expect((await applyPolicy(`enforce-${ns}`, { match: { namespaces: [ns] }, message: 'Ask #platform.' })).code).toBe(
      0,
    );
    const took = await timeUntil(async () => (await probeChange(ns)).stderr.includes('Ask #platform.'));
    console.log(
      `policy created -> in force after ${Date.now() - started} ms (first denial with its message ` +
        `after ${took} ms of polling)`,
    );
  });

  it('Warn: kubectl prints the warning and the change goes through', async () => {
    const warned = await lockedUnder('warn', { enforcement: 'Warn' });
    await timeUntil(async () => (await probeChange(warned)).code === 0);
    const r = await kubectl(['patch', 'configmap', 'cfg', '-n', warned, '-p', '{"data":{"color":"green"}}']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Warning: ConfigMap .*\/cfg is locked .* would change data\.color \(changed\)/);
  });

  it('changing a policy to Enforce denies again; deleting it restores the built-in default', async () => {
    const warned = await lockedUnder('warn', { enforcement: 'Warn' });
    await timeUntil(async () => (await probeChange(warned)).code === 0);
    await applyPolicy(`warn-${warned}`, {
      match: { namespaces: [warned] },
      enforcement: 'Enforce',
      message: 'Ask #platform.',
    });
    await timeUntil(async () => (await probeChange(warned)).stderr.includes('Ask #platform.'));
    await kubectlOk(kubectl, ['delete', 'immutabilitypolicy', `warn-${warned}`]);
    await timeUntil(async () => {
      const r = await probeChange(warned);
      return r.code !== 0 && !r.stderr.includes('Ask #platform.');
    });
  });

  it('allowedChanges lets the named paths change, and nothing else', async () => {
    const paths = await lockedUnder('paths', { allowedChanges: ['/data/color'] });
    await timeUntil(async () => (await probeChange(paths)).code === 0);
    const other = await kubectl(['patch', 'configmap', 'cfg', '-n', paths, '-p', '{"data":{"size":"XL"}}']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('data.size (added)');
  });

  it('Audit: allowed silently, recorded in the log', async () => {
    const audited = await lockedUnder('audit', { enforcement: 'Audit' });
    await timeUntil(async () => (await probeChange(audited)).code === 0);
    const r = await kubectl(['patch', 'configmap', 'cfg', '-n', audited, '-p', '{"data":{"color":"audited"}}']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('Warning');
    const log = () =>
      readFileSync(join(e2eCluster().dir, 'bulwark.log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes(`"namespace":"${audited}"`) && l.includes('immutability:audit'));
    await expect.poll(log, { timeout: 5000 }).not.toHaveLength(0);
  });

  it('namespaceSelector reads namespace labels live', async () => {
    const selected = await newNamespace('pol');
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: lockedConfigMap(selected, 'cfg', 'blue') });
    await applyPolicy(`sandbox-${selected}`, {
      match: { namespaceSelector: { matchLabels: { 'bulwark-e2e/sandbox': selected } } },
      message: 'Sandboxed.',
    });
    // Each relabelling leaves the ConfigMap at least as protected, so it needs no agreement.
    await kubectlOk(kubectl, ['label', 'namespace', selected, `bulwark-e2e/sandbox=${selected}`]);
    await timeUntil(async () => (await probeChange(selected)).stderr.includes('Sandboxed.'));
    await kubectlOk(kubectl, ['label', 'namespace', selected, 'bulwark-e2e/sandbox-']);
    await timeUntil(async () => !(await probeChange(selected)).stderr.includes('Sandboxed.'));
    await kubectlOk(kubectl, ['delete', 'immutabilitypolicy', `sandbox-${selected}`]);
  });
});

describe('bad policies', () => {
  it('are refused at admission with the field path of each problem', async () => {
    const r = await applyPolicy('bad-pointer', {
      allowedChanges: ['spec/replicas'],
      match: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('denied the request: ImmutabilityPolicy bad-pointer is invalid:');
    expect(r.stderr).toContain(
      'spec.match.namespaceSelector.matchExpressions[0].values: must be non-empty for operator In',
    );
    expect(r.stderr).toContain('spec.allowedChanges[0]: "spec/replicas" is not a JSON Pointer');
  });

  it('schema errors come from the apiserver before the webhook', async () => {
    const r = await applyPolicy('bad-enum', { enforcement: 'Deny' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.enforcement: Unsupported value: "Deny"/);
  });

  it('an ImagePolicy with a key that does not parse is refused', async () => {
    const r = await kubectl(['apply', '-f', '-'], {
      input: stringify({
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'ImagePolicy',
        metadata: { name: 'bad-key' },
        spec: { images: ['**'], authorities: [{ name: 'k', key: { publicKey: 'not a key' } }] },
      }),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.authorities[0].key.publicKey: is not a PEM public key');
  });

  it('one that slipped in (webhook down) is reported in status and applies in its strictest reading', async () => {
    const ns = await newNamespace('slip');
    await applyPolicy(`warn-${ns}`, { match: { namespaces: [ns] }, enforcement: 'Warn' });
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: lockedConfigMap(ns, 'cfg', 'blue') });
    await timeUntil(async () => (await probeChange(ns)).code === 0);

    // With the webhook gone the apiserver stores what its schema allows.
    await whileWebhookIsAway(
      async () => (await applyPolicy(`slipped-${ns}`, { allowedChanges: ['no-slash'] })).code === 0,
    );
    await timeUntil(async () => {
      const r = await probeChange(ns);
      return (
        r.code !== 0 &&
        r.stderr.includes(`ImmutabilityPolicy slipped-${ns} cannot be applied (it is invalid: spec.allowedChanges[0]`)
      );
    }, 15_000);
    await timeUntil(
      async () =>
        (await kubectl(['get', 'imp', `slipped-${ns}`, '-o', 'jsonpath={.status.conditions[0].reason}'])).stdout ===
        'Invalid',
    );
    const ready = await kubectlOk(kubectl, [
      'get',
      'imp',
      `warn-${ns}`,
      '-o',
      'jsonpath={.status.conditions[0].status}/{.status.conditions[0].reason}',
    ]);
    expect(ready).toBe('True/Compiled');
    await kubectlOk(kubectl, ['delete', 'imp', `slipped-${ns}`, `warn-${ns}`]);
  });
});

describe('a locked policy', () => {
  it('cannot be edited or deleted', async () => {
    const name = `locked-${Date.now()}`;
    expect(
      (
        await applyPolicy(
          name,
          { match: { resources: [{ kinds: ['NoSuchKind'] }] } },
          { [LOCK_LABEL.key]: LOCK_LABEL.value },
        )
      ).code,
    ).toBe(0);
    created.splice(created.indexOf(name), 1); // it stays: it matches nothing
    const edit = await kubectl(['patch', 'imp', name, '--type=merge', '-p', '{"spec":{"enforcement":"Audit"}}']);
    expect(edit.code).not.toBe(0);
    expect(edit.stderr).toContain(`ImmutabilityPolicy ${name} is locked`);
    expect(edit.stderr).toContain('spec.enforcement (changed)');
    const del = await kubectl(['delete', 'imp', name]);
    expect(del.stderr).toContain('cannot be deleted');
    // Its status is still written by Bulwark (status is bookkeeping).
    await timeUntil(
      async () =>
        (await kubectl(['get', 'imp', name, '-o', 'jsonpath={.status.conditions[0].status}'])).stdout === 'True',
    );
  });
});
