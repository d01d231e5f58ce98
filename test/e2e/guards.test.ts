// The guards of containers of locked objects, against the real apiserver:
// - a CRD UPDATE that would change how its locked objects read (schema, defaults,
//   pruning, versions, conversion, names, scope) is denied while they exist; harmless
//   changes and changes of CRDs without locked objects pass; an approved UnlockRequest
//   for the CRD lifts the guard (finding 3);
// - the namespace-delete guard sees every resource that exists now: a CRD created a
//   moment ago, a kind served only at a non-preferred version, and not one that was
//   just deleted (finding 7).

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { retryUntil } from './helpers/retry.ts';
import { approvablePolicy, approvedUnlock } from './helpers/unlock.ts';
import { DENIED_BY_BULWARK } from './helpers/denied.ts';

const LOCKED = { [LOCK_LABEL.key]: LOCK_LABEL.value };

interface Version {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: Record<string, unknown>;
  [field: string]: unknown;
}

const OPEN_SCHEMA = { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } };
const GIZMO_SCHEMA = {
  openAPIV3Schema: {
    type: 'object',
    properties: { spec: { type: 'object', properties: { size: { type: 'string' }, color: { type: 'string' } } } },
  },
};

function crd(
  group: string,
  kind: string,
  versions: Version[],
  extra: { labels?: Record<string, string>; names?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const plural = `${kind.toLowerCase()}s`;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}`, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List`, ...extra.names },
      versions: versions.map((v) => ({ served: true, storage: false, schema: OPEN_SCHEMA, ...v })),
    },
  };
}

const applyAs = (object: unknown, user: 'admin' | 'alice' = 'admin') =>
  kubectl(['apply', '-f', '-'], { input: stringify(object), user });

async function createCrd(object: Record<string, unknown>): Promise<void> {
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: stringify(object) });
  const name = (object.metadata as { name: string }).name;
  await kubectlOk(kubectl, ['wait', '--for=condition=established', `crd/${name}`, '--timeout=30s']);
}

/**
 * Creates a custom resource, retrying while the new resource is not yet served (404, 429 "storage is initializing").
 */
async function createObject(object: Record<string, unknown>): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await kubectl(['create', '-f', '-'], { input: stringify(object) });
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`cannot create ${JSON.stringify(object)}: ${r.stderr}`);
    await sleep(100);
  }
}

const unique = () => randomBytes(3).toString('hex');

describe('CRD updates while locked objects of the CRD exist (finding 3)', () => {
  let ns: string;
  let group: string;
  let base: Record<string, unknown>;
  const spec = () => structuredClone(base.spec) as { versions: Version[]; names: Record<string, unknown> };
  const withSpec = (edit: (s: ReturnType<typeof spec>) => void) => {
    const s = spec();
    edit(s);
    return { ...base, spec: s };
  };
  const readGizmo = () => kubectlOk(kubectl, ['get', `gizmos.${group}`, 'gear', '-n', ns, '-o', 'jsonpath={.spec}']);

  beforeAll(async () => {
    ns = await newNamespace('guard-crd');
    group = `${ns}.crd.e2e.bulwark.dev`;
    base = crd(group, 'Gizmo', [{ name: 'v1', storage: true, schema: GIZMO_SCHEMA }], { labels: { 'e2e-guard': ns } });
    await createCrd(base);
    await createObject({
      apiVersion: `${group}/v1`,
      kind: 'Gizmo',
      metadata: { name: 'gear', namespace: ns, labels: LOCKED },
      spec: { size: 'small', color: 'blue' },
    });
  });

  it.each<[string, (s: ReturnType<typeof spec>) => void, string]>([
    [
      'a narrower schema with a default (pruning and defaulting on read)',
      (s) => {
        s.versions[0]!.schema = {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: { size: { type: 'string' }, tier: { type: 'string', default: 'gold' } },
              },
            },
          },
        };
      },
      'spec.versions[v1].schema',
    ],
    [
      'another served version',
      (s) => {
        s.versions.push({ name: 'v2', served: true, storage: false, schema: GIZMO_SCHEMA });
      },
      'spec.versions[v2]',
    ],
    [
      'no longer served',
      (s) => {
        s.versions[0]!.served = false;
      },
      'spec.versions[v1].served',
    ],
    [
      'preserving unknown fields',
      (s) => {
        (s.versions[0]!.schema as { openAPIV3Schema: Record<string, unknown> }).openAPIV3Schema[
          'x-kubernetes-preserve-unknown-fields'
        ] = true;
      },
      'spec.versions[v1].schema',
    ],
  ])('%s: denied, naming the locked object; the object reads as before', async (_name, edit, field) => {
    const before = await readGizmo();
    const r = await applyAs(withSpec(edit));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(DENIED_BY_BULWARK);
    expect(r.stderr).toContain(
      `CustomResourceDefinition gizmos.${group} still holds locked objects (Gizmo ${ns}/gear)`,
    );
    expect(r.stderr).toContain(field);
    expect(await readGizmo()).toBe(before);
  });

  it('harmless changes pass: printer columns, short names, categories', async () => {
    const r = await applyAs(
      withSpec((s) => {
        s.versions[0]!.additionalPrinterColumns = [{ name: 'Size', type: 'string', jsonPath: '.spec.size' }];
        s.names.shortNames = ['gz'];
        s.names.categories = ['e2e'];
      }),
    );
    expect(r.code, r.stderr).toBe(0);
    base = withSpec((s) => {
      s.versions[0]!.additionalPrinterColumns = [{ name: 'Size', type: 'string', jsonPath: '.spec.size' }];
      s.names.shortNames = ['gz'];
      s.names.categories = ['e2e'];
    });
  });

  it('a CRD without locked objects may change its schema', async () => {
    const other = crd(`${ns}.free.e2e.bulwark.dev`, 'Gizmo', [{ name: 'v1', storage: true, schema: GIZMO_SCHEMA }]);
    await createCrd(other);
    await createObject({
      apiVersion: `${ns}.free.e2e.bulwark.dev/v1`,
      kind: 'Gizmo',
      metadata: { name: 'loose', namespace: ns },
      spec: { size: 'small' },
    });
    const s = structuredClone(other.spec) as { versions: Version[] };
    s.versions[0]!.schema = OPEN_SCHEMA;
    const r = await applyAs({ ...other, spec: s });
    expect(r.code, r.stderr).toBe(0);
  });

  it('an approved UnlockRequest for the CRD (UPDATE) lifts the guard', async () => {
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: approvablePolicy(`crds-${ns}`, {
        resources: [{ apiGroups: ['apiextensions.k8s.io'], kinds: ['CustomResourceDefinition'] }],
        objectSelector: { matchLabels: { 'e2e-guard': ns } },
      }),
    });
    const change = withSpec((s) => {
      s.versions.push({ name: 'v2', served: true, storage: false, schema: GIZMO_SCHEMA });
    });
    await sleep(1000);
    const unlock = await approvedUnlock(
      { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: `gizmos.${group}` },
      ['UPDATE'],
      { reason: 'serve v2', approvers: ['erin', 'frank'] },
    );
    const r = await retryUntil(
      () => applyAs(change),
      (result) => result.code === 0,
      { timeoutMs: 10_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`UnlockRequest ${unlock}`);
  });
});

describe('the namespace-delete guard sees what exists now (finding 7)', () => {
  /** Deletes an empty namespace: also fills whatever discovery cache Bulwark keeps. */
  async function deleteEmptyNamespace(): Promise<void> {
    const empty = await newNamespace('guard-empty');
    const r = await kubectl(['delete', 'namespace', empty, '--wait=false']);
    expect(r.code, r.stderr).toBe(0);
  }

  it('(a) a CRD created a moment ago: its locked object keeps the namespace', async () => {
    await deleteEmptyNamespace();
    const ns = await newNamespace('guard-new-crd');
    const group = `${ns}.fresh.e2e.bulwark.dev`;
    await createCrd(crd(group, 'Sprocket', [{ name: 'v1', storage: true }]));
    await createObject({
      apiVersion: `${group}/v1`,
      kind: 'Sprocket',
      metadata: { name: 'fresh', namespace: ns, labels: LOCKED },
    });
    const r = await kubectl(['delete', 'namespace', ns, '--wait=false']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Namespace ${ns} still holds locked objects (Sprocket fresh)`);
    expect(await kubectlOk(kubectl, ['get', 'namespace', ns, '-o', 'jsonpath={.status.phase}'])).toBe('Active');
  });

  it("(b) a kind served only at a version that is not its group's preferred one", async () => {
    const ns = await newNamespace('guard-old-version');
    const group = `${ns}.versions.e2e.bulwark.dev`;
    // The group's preferred version is v1 (from Alpha); Beta is served at v1beta1 only.
    await createCrd(crd(group, 'Alpha', [{ name: 'v1', storage: true }]));
    await createCrd(crd(group, 'Beta', [{ name: 'v1beta1', storage: true }]));
    await createObject({
      apiVersion: `${group}/v1beta1`,
      kind: 'Beta',
      metadata: { name: 'old-style', namespace: ns, labels: LOCKED },
    });
    const r = await kubectl(['delete', 'namespace', ns, '--wait=false']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Namespace ${ns} still holds locked objects (Beta old-style)`);
  });

  it('(c) while and after an unrelated CRD is deleted, an empty namespace can be deleted at once', async () => {
    const group = `c${unique()}.gone.e2e.bulwark.dev`;
    await createCrd(crd(group, 'Relic', [{ name: 'v1', storage: true }]));
    await deleteEmptyNamespace();
    await kubectlOk(kubectl, ['delete', 'crd', `relics.${group}`, '--wait=false']);
    await deleteEmptyNamespace();
    await kubectlOk(kubectl, ['wait', '--for=delete', `crd/relics.${group}`, '--timeout=30s']);
    await deleteEmptyNamespace();
  });
});
