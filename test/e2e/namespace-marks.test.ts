// Namespace marks on the real apiserver (issue 12, "a smaller fail-closed blast radius"):
// Bulwark's loop marks namespaces with nothing to decide (bulwark.dev/locks=none,
// bulwark.dev/images=none) so that the chart's scoped webhook entries skip them. Each
// attack on a mark is tried here: setting one yourself (the chart's ValidatingAdmissionPolicy
// <fullname>-namespace-marks, installed by the harness, refuses it), and putting a lock into a
// marked namespace (Bulwark removes the mark before admitting the lock, and the loop does not
// put it back while the lock is there), creating an ImagePolicy for a marked namespace (the
// mark goes before the policy is stored) and relabelling a marked namespace into a policy
// (denied while the mark stays). The harness's Bulwark scans every 3 s.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { IMAGE } from './helpers/immutability.ts';
import { until } from './helpers/plugin.ts';

const LOCKS = 'bulwark.dev/locks';
const IMAGES = 'bulwark.dev/images';
const STAMP = 'bulwark.dev/lock-admitted';
const DENIAL = 'Bulwark namespace marks: only Bulwark sets';
const WITHIN_MS = 30_000;
const id = randomBytes(3).toString('hex');

async function namespaceMeta(
  ns: string,
): Promise<{ labels: Record<string, string>; annotations: Record<string, string> }> {
  const out = await kubectlOk(kubectl, ['get', 'namespace', ns, '-o', 'json']);
  const { metadata } = JSON.parse(out) as {
    metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  };
  return { labels: metadata.labels ?? {}, annotations: metadata.annotations ?? {} };
}

const lockedConfigMap = (ns: string, name: string) =>
  stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, labels: { [LOCK_LABEL.key]: LOCK_LABEL.value } },
    data: { color: 'blue' },
  });

async function markedNoLocks(): Promise<string> {
  const ns = await newNamespace('marks');
  await until(async () => (await namespaceMeta(ns)).labels[LOCKS] === 'none', WITHIN_MS);
  return ns;
}

async function markedNoImages(): Promise<string> {
  const ns = await newNamespace('marks');
  await until(async () => (await namespaceMeta(ns)).labels[IMAGES] === 'none', WITHIN_MS);
  return ns;
}

const UNSIGNED = `registry.local/evil@sha256:${'e'.repeat(64)}`;
const selectingPolicy = (name: string, matchLabels: Record<string, string>) =>
  stringify({
    apiVersion: 'bulwark.dev/v1alpha1',
    kind: 'ImagePolicy',
    metadata: { name },
    spec: {
      images: ['**'],
      match: { namespaceSelector: { matchLabels } },
      authorities: [{ name: 'approved', digests: [IMAGE.split('@')[1]] }],
    },
  });

describe('namespace marks', () => {
  it('nobody but Bulwark and the policy admins sets a mark, on a new namespace or an existing one', async () => {
    const created = await kubectl(['create', '-f', '-'], {
      user: 'alice',
      input: stringify({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: `marks-evil-${id}`, labels: { [IMAGES]: 'none' } },
      }),
    });
    expect(created.code).not.toBe(0);
    expect(created.stderr).toContain(`${DENIAL} ${IMAGES}`);
    expect(created.stderr).toContain('alice may remove a mark, not set one');

    const ns = await newNamespace('marks');
    for (const mark of [LOCKS, IMAGES]) {
      // Bulwark's loop may have marked the new namespace already, and setting a label to the
      // value it has is no change (kubectl exits 0, "not labeled"). Anyone may remove a mark:
      // alice removes it, then tries to set it; retried if the loop put it back in between.
      let r: Awaited<ReturnType<typeof kubectl>> | undefined;
      await until(async () => {
        await kubectl(['label', 'namespace', ns, `${mark}-`], { user: 'alice' });
        r = await kubectl(['label', 'namespace', ns, `${mark}=none`, '--overwrite'], { user: 'alice' });
        return !(r.code === 0 && r.stdout.includes('not labeled'));
      }, WITHIN_MS);
      if (!r) throw new Error('no attempt was made');
      expect(r.code, mark).not.toBe(0);
      expect(r.stderr).toContain(DENIAL);
    }
    // Through the status subresource too (the apiserver keeps label changes made there).
    // (Retried like the above when the loop has just put the mark back: a patch then changes nothing.)
    let viaStatus: Awaited<ReturnType<typeof kubectl>> | undefined;
    await until(async () => {
      await kubectl(['label', 'namespace', ns, `${LOCKS}-`], { user: 'alice' });
      viaStatus = await kubectl(
        [
          'patch',
          'namespace',
          ns,
          '--subresource=status',
          '--type=merge',
          '-p',
          `{"metadata":{"labels":{"${LOCKS}":"none"}}}`,
        ],
        { user: 'alice' },
      );
      return !(viaStatus.code === 0 && viaStatus.stdout.includes('no change'));
    }, WITHIN_MS);
    if (!viaStatus) throw new Error('no attempt was made');
    expect(viaStatus.code).not.toBe(0);
    expect(viaStatus.stderr).toContain(DENIAL);
  });

  it('the loop marks a namespace without locks; anyone may remove a mark, which only brings Bulwark back', async () => {
    const ns = await markedNoLocks();
    const r = await kubectl(['label', 'namespace', ns, `${LOCKS}-`], { user: 'alice' });
    expect(r.code, r.stderr).toBe(0);
    // Changing its value is setting it.
    await kubectlOk(kubectl, ['label', 'namespace', ns, `${LOCKS}=none`]);
    const changed = await kubectl(['label', 'namespace', ns, `${LOCKS}=nothing`, '--overwrite'], { user: 'alice' });
    expect(changed.stderr).toContain(DENIAL);
  });

  it('a lock created in a marked namespace removes the mark before it is stored; the loop leaves it off', async () => {
    const ns = await markedNoLocks();
    // A dry run stores nothing and writes nothing.
    const dry = await kubectl(['create', '--dry-run=server', '-f', '-'], {
      user: 'alice',
      input: lockedConfigMap(ns, 'dry'),
    });
    expect(dry.code, dry.stderr).toBe(0);
    expect((await namespaceMeta(ns)).labels[LOCKS]).toBe('none');

    await kubectlOk(kubectl, ['create', '-f', '-'], { user: 'alice', input: lockedConfigMap(ns, 'cfg') });
    const after = await namespaceMeta(ns);
    expect(after.labels[LOCKS]).toBeUndefined();
    expect(Date.parse(after.annotations[STAMP] ?? '')).toBeGreaterThan(Date.now() - 5 * 60_000);
    // Several scans later (every 3 s), still unmarked: the namespace holds a lock.
    await new Promise((r) => setTimeout(r, 10_000));
    expect((await namespaceMeta(ns)).labels[LOCKS]).toBeUndefined();
  });

  it('adding the lock label to an existing object in a marked namespace removes the mark too', async () => {
    const ns = await markedNoLocks();
    await kubectlOk(kubectl, ['create', 'configmap', 'plain', '-n', ns, '--from-literal=a=b'], { user: 'alice' });
    expect((await namespaceMeta(ns)).labels[LOCKS]).toBe('none');
    await kubectlOk(kubectl, ['label', 'configmap', 'plain', '-n', ns, `${LOCK_LABEL.key}=${LOCK_LABEL.value}`], {
      user: 'alice',
    });
    expect((await namespaceMeta(ns)).labels[LOCKS]).toBeUndefined();
  });

  it('an ImagePolicy created for a marked namespace removes its images mark before it is stored', async () => {
    const ns = await markedNoImages();
    const team = `marks-${id}`;
    await kubectlOk(kubectl, ['label', 'namespace', ns, `bulwark-e2e/marks=${team}`]);
    const policy = selectingPolicy(`marks-${id}`, { 'bulwark-e2e/marks': team });
    // A dry run stores nothing and writes nothing.
    await kubectlOk(kubectl, ['apply', '--dry-run=server', '-f', '-'], { input: policy });
    expect((await namespaceMeta(ns)).labels[IMAGES]).toBe('none');
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: policy });
    // At once: no wait for the loop's next scan.
    expect((await namespaceMeta(ns)).labels[IMAGES]).toBeUndefined();
    const r = await kubectl(['run', 'evil', '-n', ns, `--image=${UNSIGNED}`], { user: 'alice' });
    expect(r.stderr).toContain('is not on an approved-digest list');
  });

  it('relabelling a marked namespace into an ImagePolicy is denied unless the mark goes in that change', async () => {
    const ns = await markedNoImages();
    const team = `relabel-${id}`;
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: selectingPolicy(`relabel-${id}`, { 'bulwark-e2e/relabel': team }),
    });
    const kept = await kubectl(['label', 'namespace', ns, `bulwark-e2e/relabel=${team}`]);
    expect(kept.code).not.toBe(0);
    expect(kept.stderr).toContain(`remove the ${IMAGES} mark in the same change: kubectl label ns ${ns} ${IMAGES}-`);
    expect((await namespaceMeta(ns)).labels['bulwark-e2e/relabel']).toBeUndefined();
    // Removing a mark is anyone's right; with it, the relabelling goes through.
    await kubectlOk(kubectl, ['label', 'namespace', ns, `bulwark-e2e/relabel=${team}`, `${IMAGES}-`]);
    const r = await kubectl(['run', 'evil', '-n', ns, `--image=${UNSIGNED}`], { user: 'alice' });
    expect(r.stderr).toContain('is not on an approved-digest list');
  });
});
