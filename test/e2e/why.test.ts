// `kubectl bulwark why` says what really happens, as a process with its outputs: a Warn
// policy's warning is shown (and the change allowed), a stale resourceVersion is a 409
// conflict and said to be one, not a denial; -o json and -o yaml carry the same. And
// `lock` under a Warn policy says that it only warns.

import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { plugin, until } from './helpers/plugin.ts';

let ns: string;
const configMap = (color: string, resourceVersion?: string) =>
  stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'watched',
      namespace: ns,
      labels: { [LOCK_LABEL.key]: LOCK_LABEL.value },
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    data: { color },
  });

beforeAll(async () => {
  ns = await newNamespace('why');
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'bulwark.dev/v1alpha1',
      kind: 'ImmutabilityPolicy',
      metadata: { name: `why-warn-${ns}` },
      spec: { match: { namespaces: [ns] }, enforcement: 'Warn' },
    }),
  });
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: configMap('blue') });
  await kubectlOk(kubectl, ['create', 'configmap', 'plain', '-n', ns, '--from-literal=a=1']);
});

describe('kubectl bulwark lock under a Warn policy', () => {
  it('says that changes still go through, with a warning, and they do', async () => {
    const r = await plugin(['lock', 'configmap/plain', '-n', ns], 'alice');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `ConfigMap ${ns}/plain is locked (${LOCK_LABEL.key}=${LOCK_LABEL.value}): but the policies governing it only ` +
        `warn (ImmutabilityPolicy why-warn-${ns}: Warn): changes and deletion still go through`,
    );
    const change = await kubectl(['patch', 'cm', 'plain', '-n', ns, '-p', '{"data":{"a":"2"}}'], { user: 'alice' });
    expect(change.code, change.stderr).toBe(0);
    expect(change.stderr).toContain('Warning:');
  });
});

describe('kubectl bulwark why', () => {
  it("shows a Warn policy's warning on an allowed change", async () => {
    let r = await plugin(['why', '-f', '-'], 'alice', configMap('green'));
    await until(async () => {
      r = await plugin(['why', '-f', '-'], 'alice', configMap('green'));
      return r.stdout.includes('warning:');
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`ConfigMap ${ns}/watched: this change would be allowed\n`);
    expect(r.stdout).toMatch(/ {2}warning: .*ConfigMap \S+\/watched is locked .*data\.color \(changed\)/);
  });

  it('calls a stale resourceVersion a conflict, not a denial', async () => {
    const r = await plugin(['why', '-f', '-'], 'alice', configMap('green', '1'));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`ConfigMap ${ns}/watched: conflict, not a denial:`);
    expect(r.stdout).not.toContain('would be denied');
  });

  it('-o json and -o yaml carry the outcome, message and warnings', async () => {
    const json = await plugin(['why', '-f', '-', '-o', 'json'], 'alice', configMap('green'));
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({
        object: `ConfigMap ${ns}/watched`,
        outcome: 'allowed',
        warnings: [expect.any(String)],
      }),
    ]);
    const yaml = await plugin(['why', '-f', '-', '-o', 'yaml'], 'alice', configMap('green', '1'));
    expect(parse(yaml.stdout)).toEqual([expect.objectContaining({ outcome: 'conflict', message: expect.any(String) })]);
    expect(await kubectlOk(kubectl, ['get', 'cm', 'watched', '-n', ns, '-o', 'jsonpath={.data.color}'])).toBe('blue');
  });
});
