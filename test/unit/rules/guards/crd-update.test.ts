// The CRD update guard: which CRD changes can change how existing objects read, and the
// verdict while locked objects exist (denied, naming them and the change; an approved
// UnlockRequest for the CRD lifts it; a failed listing denies).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { AdmissionReviewRequest, KubeObject } from '../../../../src/admission/types.ts';
import type { RequestFacts } from '../../../../src/decision/facts.ts';
import { reviewRequest } from '../../../../src/review/review.ts';
import { crdReadingChanges, isGuardedCrdUpdate } from '../../../../src/rules/guards/crd-changes.ts';
import { FIXTURES_DIR } from '../../../helpers/fixtures.ts';
import { variant } from '../../../helpers/reviews.ts';
import { CREATED_MS, unlockRequest } from '../../../helpers/unlock.ts';
import { builtinSnapshot, compiler } from '../../../helpers/snapshots.ts';
import { joinedRegExp } from '../../../helpers/regexp.ts';

type Crd = KubeObject & {
  spec: { versions: Record<string, any>[]; names: Record<string, unknown>; [k: string]: unknown };
};

const WIDGETS = parse(readFileSync(join(FIXTURES_DIR, 'crds', 'widgets.e2e.bulwark.dev.yaml'), 'utf8')) as Crd;

function changed(edit: (crd: Crd) => void): Crd {
  const crd = structuredClone(WIDGETS);
  edit(crd);
  return crd;
}

function crdUpdate(newCrd: Crd, oldCrd: Crd = WIDGETS): AdmissionReviewRequest {
  return variant('configmap-apply-changed', (r) => {
    r.request.kind = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' };
    r.request.resource = { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' };
    r.request.name = 'widgets.e2e.bulwark.dev';
    delete r.request.namespace;
    r.request.oldObject = oldCrd;
    r.request.object = newCrd;
  });
}

describe('CRD changes that can change how objects read', () => {
  it.each<[string, (c: Crd) => void, string[]]>([
    [
      'a default in the schema',
      (c) => {
        c.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.size.default = 'small';
      },
      ['spec.versions[v1].schema'],
    ],
    [
      'a field dropped from the schema (pruned on read)',
      (c) => {
        delete c.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.size;
      },
      ['spec.versions[v1].schema'],
    ],
    [
      'preserving unknown fields',
      (c) => {
        c.spec.versions[0]!.schema.openAPIV3Schema['x-kubernetes-preserve-unknown-fields'] = true;
      },
      ['spec.versions[v1].schema'],
    ],
    [
      'a version added',
      (c) => {
        c.spec.versions.push({ name: 'v2', served: true, storage: false, schema: c.spec.versions[0]!.schema });
      },
      ['spec.versions[v2] (added)'],
    ],
    [
      'served turned off',
      (c) => {
        c.spec.versions[0]!.served = false;
      },
      ['spec.versions[v1].served'],
    ],
    [
      'the storage version',
      (c) => {
        c.spec.versions[0]!.storage = false;
      },
      ['spec.versions[v1].storage'],
    ],
    [
      'conversion',
      (c) => {
        c.spec.conversion = {
          strategy: 'Webhook',
          webhook: { conversionReviewVersions: ['v1'], clientConfig: { url: 'https://evil.example' } },
        };
      },
      ['spec.conversion'],
    ],
    [
      'preserveUnknownFields',
      (c) => {
        c.spec.preserveUnknownFields = true;
      },
      ['spec.preserveUnknownFields'],
    ],
    [
      'scope',
      (c) => {
        c.spec.scope = 'Cluster';
      },
      ['spec.scope'],
    ],
    [
      'group, plural and kind',
      (c) => {
        c.spec.group = 'other.example';
        c.spec.names.plural = 'gadgets';
        c.spec.names.kind = 'Gadget';
      },
      ['spec.group', 'spec.names.kind', 'spec.names.plural'],
    ],
    [
      'the scale subresource',
      (c) => {
        c.spec.versions[0]!.subresources.scale.specReplicasPath = '.spec.size';
      },
      ['spec.versions[v1].subresources'],
    ],
    [
      'a field Kubernetes adds in the future',
      (c) => {
        c.spec.somethingNew = { x: 1 };
      },
      ['spec.somethingNew'],
    ],
  ])('%s', (_name, edit, paths) => {
    expect(crdReadingChanges(WIDGETS, changed(edit)).sort()).toEqual(paths.sort());
  });

  const withWebhookCa = (ca: string) =>
    changed((c) => {
      c.spec.conversion = {
        strategy: 'Webhook',
        webhook: {
          conversionReviewVersions: ['v1'],
          clientConfig: { service: { namespace: 'x', name: 'conv' }, caBundle: ca },
        },
      };
    });
  const withV2 = (first: boolean) =>
    changed((c) => {
      c.spec.versions[first ? 'unshift' : 'push']({ name: 'v2', served: false, storage: false });
    });

  it.each<[string, () => [Crd, Crd]]>([
    [
      'printer columns',
      () => [
        WIDGETS,
        changed((c) => {
          c.spec.versions[0]!.additionalPrinterColumns = [{ name: 'Size', type: 'string', jsonPath: '.spec.size' }];
        }),
      ],
    ],
    [
      'short names, categories, singular and list kind',
      () => [
        WIDGETS,
        changed((c) => {
          Object.assign(c.spec.names, {
            shortNames: ['wd'],
            categories: ['all'],
            singular: 'wdgt',
            listKind: 'Widgets',
          });
        }),
      ],
    ],
    [
      'deprecation',
      () => [
        WIDGETS,
        changed((c) => {
          Object.assign(c.spec.versions[0]!, { deprecated: true, deprecationWarning: 'use v2' });
        }),
      ],
    ],
    [
      'descriptions in the schema',
      () => [
        WIDGETS,
        changed((c) => {
          const spec = c.spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
          spec.description = 'What a widget is.';
          spec.properties.size.description = 'How big.';
        }),
      ],
    ],
    [
      'labels, annotations and status',
      () => [
        WIDGETS,
        changed((c) => {
          c.metadata = { ...c.metadata, labels: { a: 'b' }, annotations: { x: 'y' } };
          (c as any).status = { storedVersions: ['v1'] };
        }),
      ],
    ],
    ['the conversion webhook caBundle (rotated by cert-manager)', () => [withWebhookCa('Y2Ex'), withWebhookCa('Y2Ey')]],
    ['the same versions in another order', () => [withV2(false), withV2(true)]],
  ])('not: %s', (_name, pair) => {
    const [before, after] = pair();
    expect(crdReadingChanges(before, after)).toEqual([]);
  });

  it('a property named "description" is part of the schema', () => {
    const withProperty = changed((c) => {
      c.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.description = { type: 'string' };
    });
    expect(crdReadingChanges(WIDGETS, withProperty)).toEqual(['spec.versions[v1].schema']);
  });

  it('status writes and other subresources are not guarded', () => {
    const status = crdUpdate(
      changed((c) => {
        c.spec.versions[0]!.served = false;
      }),
    );
    status.request.subResource = 'status';
    expect(isGuardedCrdUpdate(status.request)).toBe(false);
    expect(
      isGuardedCrdUpdate(
        crdUpdate(
          changed((c) => {
            c.spec.versions[0]!.served = false;
          }),
        ).request,
      ),
    ).toBe(true);
  });
});

describe('the CRD update guard', () => {
  const schemaChange = () =>
    crdUpdate(
      changed((c) => {
        c.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.size.default = 'small';
      }),
    );
  const decide = (review: AdmissionReviewRequest, facts: RequestFacts) =>
    reviewRequest({ request: review.request, snapshot: builtinSnapshot(), facts });

  it('denies while locked objects exist, naming them and the change', () => {
    const v = decide(schemaChange(), {
      lockedContents: { status: 'listed', objects: ['Widget demo/gear'], more: false },
    });
    expect(v.allowed).toBe(false);
    expect(v.reasons).toEqual([
      'CustomResourceDefinition widgets.e2e.bulwark.dev still holds locked objects (Widget demo/gear): this ' +
        'update would change how they read without writing them (spec.versions[v1].schema). Changes of printer ' +
        'columns, short names and categories are allowed; for this one, an UnlockRequest for the CRD ' +
        '(operation UPDATE) must be approved first',
    ]);
  });

  it('allows when none are locked, and harmless changes without looking', () => {
    expect(decide(schemaChange(), { lockedContents: { status: 'listed', objects: [], more: false } }).allowed).toBe(
      true,
    );
    const columns = crdUpdate(
      changed((c) => {
        c.spec.names.shortNames = ['wd'];
      }),
    );
    expect(decide(columns, {}).allowed).toBe(true);
  });

  it('fails closed when the listing failed', () => {
    const v = decide(schemaChange(), { lockedContents: { status: 'unavailable', reason: 'HTTP 503' } });
    expect(v.reasons[0]).toMatch(
      joinedRegExp(
        /^cannot check whether CustomResourceDefinition widgets\.e2e\.bulwark\.dev holds objects /,
        /labelled bulwark\.dev\/immutable=true, so this update, which would change spec\.versions\[v1\]/,
        /\.schema, is denied \(fail closed\): HTTP 503$/,
      ),
    );
  });

  // A CRD is a governance target: policy admins (system:masters by default) approve.
  const ADMIN = (user: string) => ({ user, groups: ['system:masters', 'system:authenticated'] });
  it('an approved, unexpired UnlockRequest for the CRD lifts it; one short of approvals does not', () => {
    const target = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: 'widgets.e2e.bulwark.dev',
    };
    const compiled = (approvals: { user: string; groups?: string[] }[]) => {
      const r = compiler.unlock(unlockRequest('crd-change', { target }, approvals));
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      return r.unlock;
    };
    const locked = {
      lockedContents: { status: 'listed' as const, objects: ['Widget demo/gear'], more: false },
      now: CREATED_MS + 60_000,
    };
    const ok = decide(schemaChange(), { ...locked, unlocks: [compiled([ADMIN('bob'), ADMIN('carol')])] });
    expect(ok.allowed).toBe(true);
    expect(ok.warnings[0]).toMatch(
      joinedRegExp(
        /^CustomResourceDefinition widgets\.e2e\.bulwark\.dev is guarded while it holds locked /,
        /objects, but UnlockRequest crd-change \(requested by alice, approved by bob, carol\) /,
        /allows this update until /,
      ),
    );
    expect(ok.auditAnnotations).toMatchObject({ 'unlock-request': 'crd-change', decision: 'unlocked' });
    const short = decide(schemaChange(), { ...locked, unlocks: [compiled([ADMIN('bob')])] });
    expect(short.reasons[0]).toContain('(UnlockRequest crd-change: it has 1 of the 2 approvals it needs)');
    // Also when the objects could not be listed (a CRD that serves no version, say).
    const unlisted = decide(schemaChange(), {
      lockedContents: { status: 'unavailable', reason: 'no version served' },
      now: locked.now,
      unlocks: [compiled([ADMIN('bob'), ADMIN('carol')])],
    });
    expect(unlisted.allowed).toBe(true);
  });
});
