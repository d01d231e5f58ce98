// The live store: compiled once per change, snapshots swapped whole, invalid policies
// applied in their strictest reading, readiness only after every source synced.

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest } from '../../../src/admission/types.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import type { PolicyStore, PolicyStatusReport } from '../../../src/policy/store.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { examplePolicies, imagePolicy, immutabilityPolicy } from '../../helpers/policies.ts';
import { variant } from '../../helpers/reviews.ts';
import { policyStore } from '../../helpers/snapshots.ts';

const decide = (store: PolicyStore, review: AdmissionReviewRequest, namespaceLabels?: Record<string, string>) =>
  reviewRequest({
    request: review.request,
    snapshot: store.snapshot(),
    facts: namespaceLabels ? { namespaceLabels } : {},
  });

/** The captured denial of `kubectl set image` on a locked Deployment, moved to `namespace`. */
const imageChange = (namespace = 'demo') =>
  variant('deployment-image-changed', (r) => {
    r.request.namespace = namespace;
    r.request.object!.metadata!.namespace = namespace;
    r.request.oldObject!.metadata!.namespace = namespace;
  });

describe('PolicyStore', () => {
  it('is not synced until every source has listed once', () => {
    const store = policyStore({ sources: ['ImmutabilityPolicy', 'ImagePolicy'] });
    expect(store.snapshot().synced).toBe(false);
    store.markSynced('ImmutabilityPolicy');
    expect(store.pending()).toEqual(['ImagePolicy']);
    store.markSynced('ImagePolicy');
    expect(store.snapshot().synced).toBe(true);
  });

  it('keeps a taken snapshot unchanged while policies change (atomic swap)', () => {
    const store = policyStore({ sources: [] });
    const before = store.snapshot();
    store.upsert('ImmutabilityPolicy', immutabilityPolicy('warn-all', { enforcement: 'Warn' }));
    const after = store.snapshot();
    expect(before).not.toBe(after);
    expect(before.immutability.size).toBe(0);
    expect(after.immutability.size).toBe(1);
    expect(Object.isFrozen(after)).toBe(true);
  });

  it('rebuilds once however many events arrived since the last snapshot', () => {
    const store = policyStore({ sources: [] });
    const first = store.snapshot();
    for (let i = 0; i < 50; i++) store.upsert('ImmutabilityPolicy', immutabilityPolicy(`p${i}`, {}));
    const next = store.snapshot();
    expect(next).not.toBe(first);
    expect(store.snapshot()).toBe(next);
    expect(next.immutability.size).toBe(50);
  });

  it('a matching policy replaces the built-in default; others fall back to it', () => {
    const store = policyStore({ sources: [] });
    store.upsert('ImmutabilityPolicy', examplePolicies()['deployments-replicas-may-scale']);
    const scale = variant('deployment-image-changed', (r) => {
      r.request.object = structuredClone(r.request.oldObject!);
      (r.request.object as { spec: { replicas: number } }).spec.replicas = 9;
    });
    expect(decide(store, scale).allowed).toBe(true);
    expect(decide(store, imageChange()).allowed).toBe(false);
    // A ConfigMap matches no policy: the built-in default locks it.
    expect(decide(store, loadReview('configmap-apply-changed')).reasons[0]).toContain('data.color');
  });

  it('the strictest matching policy wins', () => {
    const store = policyStore({ sources: [] });
    store.upsert('ImmutabilityPolicy', immutabilityPolicy('warn-only', { enforcement: 'Warn' }));
    const warned = decide(store, imageChange());
    expect(warned).toMatchObject({ allowed: true });
    expect(warned.warnings[0]).toContain('spec.template.spec.containers[0].image');
    store.upsert(
      'ImmutabilityPolicy',
      immutabilityPolicy('enforce-apps', { match: { resources: [{ apiGroups: ['apps'], kinds: ['*'] }] } }),
    );
    expect(decide(store, imageChange()).allowed).toBe(false);
  });

  it('an invalid policy is reported and applies in its strictest reading', () => {
    const reports: PolicyStatusReport[] = [];
    const store = policyStore({ sources: [], onCompiled: (r) => reports.push(r) });
    store.upsert('ImmutabilityPolicy', immutabilityPolicy('warn-only', { enforcement: 'Warn' }));
    expect(decide(store, imageChange()).allowed).toBe(true);
    store.upsert('ImmutabilityPolicy', immutabilityPolicy('broken', { allowedChanges: ['no-slash'] }));
    const verdict = decide(store, imageChange());
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons.join()).toMatch(
      /ImmutabilityPolicy broken cannot be applied \(it is invalid: spec\.allowedChanges\[0\]/,
    );
    expect(store.snapshot().problems).toEqual([
      expect.objectContaining({ kind: 'ImmutabilityPolicy', name: 'broken' }),
    ]);
    expect(reports.map((r) => [r.source.name, r.ready])).toEqual([
      ['warn-only', true],
      ['broken', false],
    ]);
    store.remove('ImmutabilityPolicy', 'uid-broken');
    expect(decide(store, imageChange()).allowed).toBe(true);
  });

  it('reports a compile outcome once per resourceVersion', () => {
    const reports: PolicyStatusReport[] = [];
    const store = policyStore({ sources: [], onCompiled: (r) => reports.push(r) });
    const policy = immutabilityPolicy('p', {});
    store.upsert('ImmutabilityPolicy', policy);
    store.upsert('ImmutabilityPolicy', policy);
    store.upsert('ImmutabilityPolicy', {
      ...policy,
      metadata: { ...(policy.metadata as object), resourceVersion: '2' },
    });
    expect(reports).toHaveLength(2);
  });

  it('selects namespaces by label from the namespace-labels fact, strictly when unknown', () => {
    const store = policyStore({ sources: [] });
    store.upsert(
      'ImmutabilityPolicy',
      immutabilityPolicy('audit-sandbox', {
        enforcement: 'Audit',
        match: { namespaceSelector: { matchLabels: { env: 'sandbox' } } },
      }),
    );
    expect(decide(store, imageChange(), { env: 'sandbox' })).toMatchObject({ allowed: true });
    expect(decide(store, imageChange(), { env: 'prod' }).allowed).toBe(false);
    const unknown = decide(store, imageChange());
    expect(unknown.allowed).toBe(false);
    expect(unknown.reasons.join()).toMatch(/labels of namespace demo are unknown/);
  });

  it('an invalid ImagePolicy stays in the snapshot, marked invalid', () => {
    const store = policyStore({ sources: [] });
    store.upsert(
      'ImagePolicy',
      imagePolicy('broken-images', { images: ['**'], authorities: [{ name: 'k', key: { publicKey: 'x' } }] }),
    );
    const [policy] = store.snapshot().images;
    expect(policy?.invalid).toMatch(/spec\.authorities\[0\]\.key\.publicKey/);
    expect(policy?.matchNamespace('any', undefined)).toBe('match');
  });
});

describe('the immutability index', () => {
  it('looks at the few policies that can match, not all of them', () => {
    const store = policyStore({ sources: [] });
    for (let i = 0; i < 1000; i++) {
      store.upsert(
        'ImmutabilityPolicy',
        immutabilityPolicy(`kind-${i}`, {
          match: { resources: [{ apiGroups: ['example.com'], kinds: [`Kind${i}`] }] },
        }),
      );
    }
    store.upsert(
      'ImmutabilityPolicy',
      immutabilityPolicy('configmaps', { match: { resources: [{ apiGroups: [''], kinds: ['ConfigMap'] }] } }),
    );
    store.upsert(
      'ImmutabilityPolicy',
      immutabilityPolicy('any-core', { match: { resources: [{ apiGroups: [''], kinds: ['*'] }] } }),
    );
    const index = store.snapshot().immutability;
    expect(index.size).toBe(1002);
    expect(
      index
        .lookup('', 'ConfigMap', 'default')
        .map((p) => p.name)
        .sort(),
    ).toEqual(['any-core', 'configmaps']);
    expect(index.lookup('example.com', 'Kind7', 'default').map((p) => p.name)).toEqual(['kind-7']);
    expect(index.lookup('apps', 'Deployment', 'default')).toEqual([]);
  });

  it('indexes policies limited to namespace names by namespace', () => {
    const store = policyStore({ sources: [] });
    for (let i = 0; i < 1000; i++)
      store.upsert('ImmutabilityPolicy', immutabilityPolicy(`team-${i}`, { match: { namespaces: [`team-${i}`] } }));
    store.upsert('ImmutabilityPolicy', immutabilityPolicy('globbed', { match: { namespaces: ['team-*'] } }));
    const index = store.snapshot().immutability;
    expect(index.lookup('', 'ConfigMap', 'team-42').map((p) => p.name)).toEqual(['globbed', 'team-42']);
    expect(index.lookup('', 'ClusterRole', undefined).map((p) => p.name)).toEqual(['globbed']);
  });
});
