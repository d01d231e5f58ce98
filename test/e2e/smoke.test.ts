// The harness works end to end: a real apiserver calls Bulwark, and kubectl shows its
// denial. The full e2e suite lives next to this file.

import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';

function configMap(namespace: string, value: string, name = 'smoke'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
    data: { greeting: value },
  });
}

describe('smoke: kubectl apply against a locked ConfigMap', () => {
  it('creates it, denies a change with a message naming the field, accepts an identical reapply', async () => {
    const ns = await newNamespace('smoke');

    const created = await kubectl(['apply', '-f', '-'], { input: configMap(ns, 'hello') });
    expect(created.code, created.stderr).toBe(0);

    const changed = await kubectl(['apply', '-f', '-'], { input: configMap(ns, 'goodbye') });
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toContain('is locked');
    expect(changed.stderr).toContain('data.');

    const same = await kubectl(['apply', '-f', '-'], { input: configMap(ns, 'hello') });
    expect(same.code, same.stderr).toBe(0);

    const stored = await kubectl(['get', 'configmap', 'smoke', '-n', ns, '-o', 'jsonpath={.data.greeting}']);
    expect(stored.stdout).toBe('hello');
  });

  // A client-side reapply of an identical manifest sends nothing (kubectl finds no
  // difference); a server-side apply does send the update, so Bulwark has to see that
  // old and new objects are the same apart from bookkeeping such as managedFields.
  it('allows an identical server-side reapply, which reaches the webhook', async () => {
    const ns = await newNamespace('smoke');
    const apply = (value: string) =>
      kubectl(['apply', '--server-side', '-f', '-'], { input: configMap(ns, value, 'smoke-ssa') });

    const created = await apply('hello');
    expect(created.code, created.stderr).toBe(0);
    const same = await apply('hello');
    expect(same.code, same.stderr).toBe(0);
    const changed = await apply('goodbye');
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toContain('data.greeting');
  });
});
