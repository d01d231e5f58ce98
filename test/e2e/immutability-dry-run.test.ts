// --dry-run=server goes through admission like the real request: Bulwark must give the same
// answer, so that a dry run predicts what the real request will do. Nothing is stored either way.

import { beforeAll, describe, expect, it } from 'vitest';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import {
  configMap,
  create,
  expectAllowed,
  expectChangeDenied,
  expectDeleteDenied,
  expectUntouched,
  jsonpath,
  LOCK_LABEL_JSONPATH,
  stampAll,
  target,
  UNLOCK_IS_A_CHANGE,
  type Ref,
  type Stamp,
} from './helpers/immutability.ts';

describe('--dry-run=server gets the same answer as the real request', () => {
  let ns: string;
  let before: Map<string, Stamp>;
  const locked = (): Ref => ({ resource: 'configmap', name: 'locked', namespace: ns });
  const free = (): Ref => ({ resource: 'configmap', name: 'free', namespace: ns });
  const dryRun = (...args: string[]) => kubectl([...args, '--dry-run=server'], { user: 'alice', namespace: ns });

  beforeAll(async () => {
    ns = await newNamespace('immut-dryrun');
    await create(configMap(locked(), { color: 'blue' }), configMap(free(), { color: 'blue' }, { locked: false }));
    before = await stampAll(ns, 'configmaps');
  });

  it('denies a patch of a locked object', async () => {
    expectChangeDenied(
      await dryRun('patch', 'configmap', 'locked', '--type=merge', '-p', '{"data":{"color":"red"}}'),
      target('ConfigMap', locked()),
      'data.color (changed)',
    );
    await expectUntouched(locked(), before.get('locked'));
  });

  it('denies the delete of a locked object', async () => {
    expectDeleteDenied(await dryRun('delete', 'configmap', 'locked'), target('ConfigMap', locked()));
    await expectUntouched(locked(), before.get('locked'));
  });

  it('denies removing the lock label', async () => {
    const result = await dryRun('label', 'configmap', 'locked', `${LOCK_LABEL.key}-`);
    expectChangeDenied(result, target('ConfigMap', locked()), 'metadata.labels["bulwark.dev/immutable"] (removed)');
    expect(result.stderr).toContain(UNLOCK_IS_A_CHANGE);
    await expectUntouched(locked(), before.get('locked'));
  });

  it('allows a change of an unlabelled object, which stays unchanged because it was a dry run', async () => {
    const result = await dryRun('patch', 'configmap', 'free', '--type=merge', '-p', '{"data":{"color":"red"}}');
    expectAllowed(result);
    expect(result.stdout).toContain('configmap/free patched');
    const after = await expectUntouched(free(), before.get('free'));
    expect(after.content).toBe('{"color":"blue"}');
  });

  it('allows deleting and locking an unlabelled object, which stays as it was', async () => {
    const deleted = await dryRun('delete', 'configmap', 'free');
    expectAllowed(deleted);
    expect(deleted.stdout).toContain('(server dry run)');
    expectAllowed(await dryRun('label', 'configmap', 'free', `${LOCK_LABEL.key}=${LOCK_LABEL.value}`));
    await expectUntouched(free(), before.get('free'));
    expect(await jsonpath(free(), LOCK_LABEL_JSONPATH)).toBe('');
  });
});
