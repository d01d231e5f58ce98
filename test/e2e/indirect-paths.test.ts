// Indirect paths around a lock (issue 10, "What must hold"): ways to change a locked
// object, or what protects it, without a plain write of it. Each is an attack by an
// ordinary user with the RBAC to try it, on the real apiserver.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import {
  configMap,
  ensureWidgetCrd,
  expectChangeDenied,
  expectDeleteDenied,
  jsonpath,
  LOCK_LABELS,
  target,
  yaml,
} from './helpers/immutability.ts';
import { deniedWith } from './helpers/denied.ts';
import { startMutatingWebhook } from './helpers/mutating-webhook.ts';
import { until } from './helpers/plugin.ts';

const dryRun = '--dry-run=server';
/** kubectl as someone else (admin impersonates), with group dev for the RBAC to do it. */
const as = (user: string) => [`--as=${user}`, '--as-group=dev', '--as-group=system:authenticated'];

describe('a label change a policy allows may not move a locked object under a looser policy (objectSelector)', () => {
  it(
    'tier=db -> tier=web under an Audit policy is denied, naming what would loosen; the ConfigMap stays under ' + 'db',
    async () => {
      const ns = await newNamespace('relabel');
      const id = randomBytes(3).toString('hex');
      const select = (tier: string) => ({ namespaces: [ns], objectSelector: { matchLabels: { tier } } });
      await kubectlOk(kubectl, ['apply', '-f', '-'], {
        input: yaml(
          {
            apiVersion: 'bulwark.dev/v1alpha1',
            kind: 'ImmutabilityPolicy',
            metadata: { name: `db-${id}` },
            spec: { match: select('db'), allowedChanges: ['/metadata/labels/tier'] },
          },
          {
            apiVersion: 'bulwark.dev/v1alpha1',
            kind: 'ImmutabilityPolicy',
            metadata: { name: `web-${id}` },
            spec: { match: select('web'), enforcement: 'Audit' },
          },
        ),
      });
      const cm = { resource: 'configmap', name: 'cfg', namespace: ns };
      await kubectlOk(kubectl, ['apply', '-f', '-'], {
        input: yaml(
          configMap(cm, { color: 'blue' }, { labels: { tier: 'db' } }),
          configMap({ ...cm, name: 'probe' }, {}, { labels: { tier: 'db' } }),
        ),
      });
      // Once Bulwark knows db, it lets the tier label change towards the built-in default (as strict).
      await until(
        async () =>
          (await kubectl(['label', '--overwrite', 'cm', 'probe', '-n', ns, 'tier=cache', dryRun], { user: 'alice' }))
            .code === 0,
      );

      const move = await kubectl(['label', '--overwrite', 'cm', 'cfg', '-n', ns, 'tier=web'], { user: 'alice' });
      expect(move.code).not.toBe(0);
      expect(move.stderr).toMatch(
        deniedWith(
          `: ${target('ConfigMap', cm)} is locked (labelled bulwark.dev/immutable=true); this update ` +
            `would change its labels so that its protection loosens (ImmutabilityPolicy db-${id} would no longer ` +
            `govern it; in its place ImmutabilityPolicy web-${id} would switch to Audit)`,
        ),
      );
      expect(await jsonpath(cm, '{.metadata.labels.tier}')).toBe('db');
      expectChangeDenied(
        await kubectl(['patch', 'cm', 'cfg', '-n', ns, '-p', '{"data":{"color":"red"}}'], { user: 'alice' }),
        target('ConfigMap', cm),
        'data.color (changed)',
      );
    },
  );
});

describe('owner references and the garbage collector (there is none here: its requests are impersonated)', () => {
  // The collector deletes a dependent with an ordinary DELETE once its owners are gone, and
  // orphans it by removing owner references (kube-controller-manager 1.36, garbagecollector:
  // deleteObject and the orphan patch, through the metadata client). So: nobody may give a
  // locked object an owner; the collector may take owners away, and its DELETE of a locked
  // dependent is denied like anyone's (it retries; the object outlives its owner).
  it('alice cannot add an owner reference to a locked ConfigMap (deleting that owner would delete it)', async () => {
    const ns = await newNamespace('owners');
    const cm = { resource: 'configmap', name: 'cfg', namespace: ns };
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: yaml(configMap(cm, { color: 'blue' }), configMap({ ...cm, name: 'owner' }, {}, { locked: false })),
    });
    const uid = await jsonpath({ ...cm, name: 'owner' }, '{.metadata.uid}');
    const owned = JSON.stringify({
      metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid }] },
    });
    expectChangeDenied(
      await kubectl(['patch', 'cm', 'cfg', '-n', ns, '--type=merge', '-p', owned], { user: 'alice' }),
      target('ConfigMap', cm),
      'metadata.ownerReferences (added)',
    );
  });

  it.each([
    [
      'its own service account (--use-service-account-credentials)',
      'system:serviceaccount:kube-system:generic-garbage-collector',
    ],
    ['kube-controller-manager`s shared identity (the flag`s default)', 'system:kube-controller-manager'],
  ])(
    'the garbage collector as %s may remove owner references of a locked dependent, but not delete it',
    async (_how, collector) => {
      const ns = await newNamespace('gc');
      const owner = { resource: 'configmap', name: 'owner', namespace: ns };
      await kubectlOk(kubectl, ['apply', '-f', '-'], { input: yaml(configMap(owner, {}, { locked: false })) });
      const uid = await jsonpath(owner, '{.metadata.uid}');
      const dependents = ['orphaned', 'collected'].map((name) => ({ resource: 'configmap', name, namespace: ns }));
      // Created with its owner: creating is the one write a locked object gets.
      await kubectlOk(kubectl, ['apply', '-f', '-'], {
        input: yaml(
          ...dependents.map((d) => ({
            ...configMap(d, { color: 'blue' }),
            metadata: {
              ...(configMap(d, {}).metadata as object),
              ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid }],
            },
          })),
        ),
      });

      const orphan = await kubectl([
        'patch',
        'cm',
        'orphaned',
        '-n',
        ns,
        '--type=json',
        '-p',
        '[{"op":"remove","path":"/metadata/ownerReferences"}]',
        ...as(collector),
      ]);
      expect(orphan.code, orphan.stderr).toBe(0);
      expect(await jsonpath(dependents[0]!, '{.metadata.ownerReferences}')).toBe('');
      expectDeleteDenied(
        await kubectl(['delete', 'cm', 'collected', '-n', ns, ...as(collector)]),
        target('ConfigMap', dependents[1]!),
      );
      expect(await jsonpath(dependents[1]!, '{.metadata.ownerReferences[0].uid}')).toBe(uid);
    },
  );
});

describe('managedFields: server-side apply`s bookkeeping is no place for a write of alice`s', () => {
  type Entry = {
    manager: string;
    operation: string;
    apiVersion: string;
    fieldsType?: string;
    fieldsV1?: Record<string, unknown>;
  };
  const fieldsOf = async (ns: string) =>
    JSON.parse(await kubectlOk(kubectl, ['get', 'cm', 'cfg', '-n', ns, '-o', 'json', '--show-managed-fields'])) as {
      metadata: { managedFields: Entry[] };
    };

  it(
    'forged entries (data in field names; the owner`s apply entry grown by someone else) are denied; the ' +
      'owner`s identical apply passes',
    async () => {
      const ns = await newNamespace('managed');
      const cm = { resource: 'configmap', name: 'cfg', namespace: ns };
      const manifest = yaml(configMap(cm, { color: 'blue' }));
      await kubectlOk(kubectl, ['apply', '--server-side', '-f', '-'], { input: manifest });
      const live = await fieldsOf(ns);
      const forge = (entries: Entry[]) =>
        kubectl(['replace', '-f', '-'], {
          user: 'alice',
          input: JSON.stringify({ ...live, metadata: { ...live.metadata, managedFields: entries } }),
        });

      const smuggled = await forge([
        ...live.metadata.managedFields,
        {
          manager: 'mallory',
          operation: 'Apply',
          apiVersion: 'v1',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:data': { [`f:${'SMUGGLED-'.repeat(100)}`]: {} } },
        },
      ]);
      expectChangeDenied(smuggled, target('ConfigMap', cm), 'metadata.managedFields (changed)');
      const claimed = await forge(
        live.metadata.managedFields.map((e) =>
          e.manager === 'kubectl'
            ? { ...e, fieldsV1: { ...e.fieldsV1, 'f:metadata': { 'f:name': {}, 'f:labels': {} } } }
            : e,
        ),
      );
      expectChangeDenied(claimed, target('ConfigMap', cm), 'metadata.managedFields (changed)');
      expect((await fieldsOf(ns)).metadata.managedFields.map((e) => e.fieldsV1)).toEqual(
        live.metadata.managedFields.map((e) => e.fieldsV1),
      );

      const again = await kubectl(['apply', '--server-side', '-f', '-'], { input: manifest, user: 'alice' });
      expect(again.code, again.stderr).toBe(0);
    },
  );
});

describe('an APIService may not route a group/version holding locked objects to another server', () => {
  // Found: alice patched the local APIService of a CRD's group/version to a Service of
  // hers; a locked custom resource then read as that server said (503 here, anything an
  // attacker's server likes), and writes to it would have reached that server instead.
  const reroute = (name: string, extra: string[] = []) =>
    kubectl(
      [
        'patch',
        'apiservice',
        name,
        '--type=merge',
        '-p',
        JSON.stringify({
          metadata: { labels: { 'kube-aggregator.kubernetes.io/automanaged': null } },
          spec: { service: { namespace: 'default', name: 'elsewhere', port: 443 }, insecureSkipTLSVerify: true },
        }),
        ...extra,
      ],
      { user: 'alice' },
    );

  it(
    'pointing the CRD`s v1.e2e.bulwark.dev at a Service is denied while a locked Widget exists, naming it; the ' +
      'Widget still reads from the apiserver',
    async () => {
      await ensureWidgetCrd();
      const ns = await newNamespace('reroute');
      await kubectlOk(kubectl, ['apply', '-f', '-'], {
        input: yaml({
          apiVersion: 'e2e.bulwark.dev/v1',
          kind: 'Widget',
          metadata: { name: 'w', namespace: ns, labels: LOCK_LABELS },
          spec: { size: 'small', replicas: 1 },
        }),
      });
      const r = await reroute('v1.e2e.bulwark.dev');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(
        deniedWith(
          ': APIService v1.e2e.bulwark.dev: this change would have Service default/elsewhere serve ' +
            'e2e.bulwark.dev/v1 instead of this apiserver, while locked objects of group e2e.bulwark.dev exist (',
        ),
      );
      expect(r.stderr).toContain(
        'An UnlockRequest for the APIService (kubectl bulwark unlock request apiservice/v1.e2e.bulwark.dev ' +
          '--operation UPDATE',
      );
      expect(
        await kubectlOk(kubectl, ['get', 'apiservice', 'v1.e2e.bulwark.dev', '-o', 'jsonpath={.spec.service}']),
      ).toBe('');
      expect(await jsonpath({ resource: 'widget', name: 'w', namespace: ns }, '{.spec.size}')).toBe('small');
    },
  );

  it('a new APIService for a group without locked objects (an aggregated API being installed) is allowed', async () => {
    const name = `v1.reroute-${randomBytes(3).toString('hex')}.e2e.example`;
    const r = await kubectl(['create', '-f', '-', dryRun], {
      user: 'alice',
      input: yaml({
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: { name },
        spec: {
          group: name.slice(3),
          version: 'v1',
          service: { namespace: 'default', name: 'metrics', port: 443 },
          insecureSkipTLSVerify: true,
          groupPriorityMinimum: 100,
          versionPriority: 10,
        },
      }),
    });
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('someone else`s mutating webhook runs before Bulwark, which judges what it made', () => {
  it(
    'alice`s webhook rewrites data.color on her identical server-side apply of a locked ConfigMap: denied, ' +
      'naming data.color',
    async () => {
      const ns = await newNamespace('mutating');
      const cm = { resource: 'configmap', name: 'cfg', namespace: ns };
      const manifest = (name: string, locked: boolean) =>
        yaml(configMap({ ...cm, name }, { color: 'blue' }, { locked }));
      await kubectlOk(kubectl, ['apply', '--server-side', '-f', '-'], {
        input: `${manifest('cfg', true)}---\n${manifest('probe', false)}`,
      });
      const webhook = await startMutatingWebhook((o) =>
        (o.data as Record<string, unknown> | undefined)?.color !== undefined
          ? [{ op: 'replace', path: '/data/color', value: 'mutated' }]
          : undefined,
      );
      const name = `rewrite-${ns}`;
      try {
        await kubectlOk(kubectl, ['create', '-f', '-'], {
          user: 'alice',
          input: yaml({
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'MutatingWebhookConfiguration',
            metadata: { name },
            webhooks: [
              {
                name: 'rewrite.alice.example',
                clientConfig: { url: webhook.url, caBundle: webhook.caBundle },
                rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], operations: ['UPDATE'] }],
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
                failurePolicy: 'Fail',
                sideEffects: 'None',
                admissionReviewVersions: ['v1'],
                timeoutSeconds: 5,
              },
            ],
          }),
        });
        // In force once an identical apply of the unlocked probe comes back mutated (a dry run).
        await until(
          async () =>
            (
              await kubectl(['apply', '--server-side', dryRun, '-o', 'jsonpath={.data.color}', '-f', '-'], {
                input: manifest('probe', false),
              })
            ).stdout === 'mutated',
          20_000,
        );

        const identical = await kubectl(['apply', '--server-side', '-f', '-'], {
          user: 'alice',
          input: manifest('cfg', true),
        });
        expectChangeDenied(identical, target('ConfigMap', cm), 'data.color (changed)');
        expect(await jsonpath(cm, '{.data.color}')).toBe('blue');
        expect(webhook.calls()).toBeGreaterThan(1);
      } finally {
        await kubectl(['delete', 'mutatingwebhookconfiguration', name, '--ignore-not-found']);
        await webhook.close();
      }
    },
  );
});
