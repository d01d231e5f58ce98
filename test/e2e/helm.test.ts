// The Helm chart against the real apiserver. No pods run here, so the chart's webhook
// configuration is pointed by URL at a Bulwark running as a local process
// (webhook.url, deployment.enabled=false). The harness's own configuration is removed
// first, so every denial below comes through the chart's entries; it is restored (and
// proven to deny again) at the end, whatever happened.
//
// Release "bulwark" (tls.mode=secret, the harness's Bulwark and CA, self-protection on by
// default, a Deployment that is stored but never runs): install, deny, self-protection of
// the webhook configuration, the CRDs and everything in the release namespace, upgrade,
// uninstall. Release "gen" (tls.mode=generate):
// a second Bulwark serves the certificate the chart generated, under the chart's own
// ServiceAccount and RBAC; upgrades keep the CA.

import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import {
  e2eCluster,
  isImmutabilityDenial,
  kubectl,
  LOCK_LABEL,
  newNamespace,
  WEBHOOK_CONFIGURATION,
  type KubectlResult,
} from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { readVersions } from '../../harness/node/versions.ts';
import { nodeBinary, REPO_ROOT } from '../../harness/paths.ts';
import { freePort } from '../../harness/ports.ts';
import { registerWebhook, waitForDenial } from '../../harness/registration.ts';
import { locateTools } from '../../harness/tools.ts';
import { startProcess, type ManagedProcess } from '../../harness/processes.ts';
import { joinedRegExp } from '../helpers/regexp.ts';

const { KUBE_VERSION } = readVersions();

const NS = 'bulwark-system';
const CHART = join(REPO_ROOT, 'charts', 'bulwark');
const cluster = e2eCluster();
const work = join(cluster.dir, 'helm-e2e');
const harnessUrl = `https://127.0.0.1:${cluster.webhookPort}/validate`;
const harnessCaFile = join(cluster.dir, 'webhook-ca.crt');
const LOCKED = { [LOCK_LABEL.key]: LOCK_LABEL.value };
const IMAGE = `registry.local/app@sha256:${'ab'.repeat(32)}`;
const SELF_PROTECTED = 'Bulwark self-protection: only the policy admins';

let helmPath = '';
async function helm(args: string[], user?: 'alice'): Promise<KubectlResult> {
  const env = {
    ...process.env,
    HELM_CONFIG_HOME: join(work, 'config'),
    HELM_CACHE_HOME: join(work, 'cache'),
    HELM_DATA_HOME: join(work, 'data'),
  };
  const full = [...args, '--kubeconfig', cluster.kubeconfig, ...(user ? ['--kube-context', user] : [])];
  return new Promise((resolve) => {
    execFile(helmPath, full, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function until(what: string, check: () => Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${deadlineMs / 1000} s: ${what}`);
    await sleep(100);
  }
}

let namespace = '';
let attempt = 0;
/** A server-side dry-run change of the locked ConfigMap: what any webhook in force would judge. */
const tryChange = () =>
  kubectl([
    'patch',
    'configmap',
    'cfg',
    '-n',
    namespace,
    '--type=merge',
    '-p',
    JSON.stringify({ data: { color: `try-${attempt++}` } }),
    '--dry-run=server',
  ]);
const locked = async () => isImmutabilityDenial(await tryChange());
const unlocked = async () => (await tryChange()).code === 0;

/** Everything a release made, by its instance label, across the kinds the chart renders. */
async function leftovers(release: string): Promise<string> {
  const kinds =
    'validatingwebhookconfigurations,validatingadmissionpolicies,validatingadmissionpolicybindings,c' +
    'lusterroles,clusterrolebindings,serviceaccounts,secrets,services,deployments,poddisruptionbudgets';
  return (
    await kubectlOk(kubectl, ['get', kinds, '-A', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name'])
  ).trim();
}

const vwcJson = async (name: string) =>
  JSON.parse(await kubectlOk(kubectl, ['get', 'validatingwebhookconfiguration', name, '-o', 'json']));
const caBundles = async (name: string) =>
  new Set((await vwcJson(name)).webhooks.map((w: { clientConfig: { caBundle: string } }) => w.clientConfig.caBundle));

let second: ManagedProcess | undefined;

beforeAll(async () => {
  helmPath = (await locateTools(['helm'])).helm;
  await mkdir(work, { recursive: true });
  namespace = await newNamespace('helm');
  // Created while the harness webhook is in force: creating locked objects is always allowed.
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cfg', namespace, labels: LOCKED },
        data: { color: 'blue' },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace, labels: LOCKED },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: IMAGE }] } },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'pending', namespace, labels: { ...LOCKED, 'topology.kubernetes.io/zone': 'zone-x' } },
        spec: { containers: [{ name: 'web', image: IMAGE }] },
      },
    ]
      .map((o) => stringify(o))
      .join('---\n'),
  });
  // The release namespace, held to the restricted Pod Security Standard the chart's pods meet.
  await kubectlOk(kubectl, ['create', 'namespace', NS]);
  await kubectlOk(kubectl, ['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted']);
  await kubectlOk(kubectl, ['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION]);
  await until('the harness webhook is out of force', unlocked);
});

afterAll(async () => {
  for (const release of ['bulwark', 'gen']) await helm(['uninstall', release, '-n', NS, '--ignore-not-found']);
  await second?.stop();
  await registerWebhook(kubectl, harnessUrl, await readFile(harnessCaFile, 'utf8'));
  await waitForDenial(kubectl);
});

describe('helm chart on a real apiserver', () => {
  it('renders objects the apiserver accepts as they are, and pods that pass Pod Security "restricted"', async () => {
    const rendered = await helm(['template', 'bulwark', CHART, '-n', NS, '--kube-version', KUBE_VERSION]);
    expect(rendered.code, rendered.stderr).toBe(0);
    const dryRun = await kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], {
      input: rendered.stdout,
    });
    expect(dryRun.code, dryRun.stderr).toBe(0);
    const pod = await kubectl(['create', '--dry-run=server', '-f', '-'], { input: podFromDeployment(rendered.stdout) });
    expect(pod.code, pod.stderr).toBe(0);
    expect(pod.stderr).not.toContain('PodSecurity');
    // The namespace does enforce it: the same pod without its securityContext is refused.
    const careless = await kubectl(['create', '--dry-run=server', '-f', '-'], {
      input: podFromDeployment(rendered.stdout, { hardened: false }),
    });
    expect(careless.stderr).toContain('violates PodSecurity "restricted');
  });

  it(
    'installs with the webhook pointed at the local Bulwark; its configuration denies a change to a locked ' +
      'ConfigMap',
    async () => {
      const install = await helm([
        'install',
        'bulwark',
        CHART,
        '-n',
        NS,
        // The harness installed the CRDs (not the release's): the release leaves them alone.
        '--set',
        'crds.enabled=false',
        '--set',
        `webhook.url=${harnessUrl}`,
        '--set',
        'tls.mode=secret',
        '--set',
        'tls.secret.name=bulwark-serving',
        '--set-file',
        `tls.secret.caBundle=${harnessCaFile}`,
      ]);
      expect(install.code, install.stderr).toBe(0);
      const vwc = await vwcJson('bulwark');
      expect(vwc.webhooks.map((w: { name: string }) => w.name)).toEqual([
        'immutability.bulwark.dev',
        'subresources.bulwark.dev',
        'policies.bulwark.dev',
        'namespaces.bulwark.dev',
        'images.bulwark.dev',
        'guards.bulwark.dev',
      ]);
      expect(await caBundles('bulwark')).toEqual(
        new Set([Buffer.from(await readFile(harnessCaFile)).toString('base64')]),
      );

      await until('the chart`s webhook configuration is in force', locked);
      const apply = await kubectl(['apply', '-f', '-'], {
        input: stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'cfg', namespace, labels: LOCKED },
          data: { color: 'green' },
        }),
      });
      expect(isImmutabilityDenial(apply), apply.stderr).toBe(true);
      expect(apply.stderr).toContain('data.color');
    },
  );

  it('sends scale requests (no labels on a Scale) and policy objects through their own entries', async () => {
    const scale = await kubectl(['scale', 'deployment', 'web', '-n', namespace, '--replicas=3']);
    expect(scale.code).not.toBe(0);
    expect(scale.stderr).toContain('admission webhook "subresources.bulwark.dev" denied the request');
    expect(scale.stderr).toContain('spec.replicas');
    const policy = await kubectl(['apply', '-f', '-'], {
      input: stringify({
        apiVersion: 'bulwark.dev/v1alpha1',
        kind: 'ImmutabilityPolicy',
        metadata: { name: 'helm-e2e-bad' },
        spec: { allowedChanges: ['no-slash'] },
      }),
    });
    expect(policy.code).not.toBe(0);
    expect(policy.stderr).toContain('admission webhook "policies.bulwark.dev" denied the request');
  });

  it('sends policy deletes and namespace label changes (only those) through their own entries', async () => {
    const name = `helm-e2e-${namespace}`;
    const select = (value: string) => ({
      namespaceSelector: { matchLabels: { 'bulwark-e2e/helm': `${namespace}-${value}` } },
    });
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: [
        {
          apiVersion: 'bulwark.dev/v1alpha1',
          kind: 'ImmutabilityPolicy',
          metadata: { name: `${name}-prod` },
          spec: { match: select('prod'), message: 'Helm e2e.' },
        },
        {
          apiVersion: 'bulwark.dev/v1alpha1',
          kind: 'ImmutabilityPolicy',
          metadata: { name: `${name}-audit` },
          spec: { match: select('audit'), enforcement: 'Audit' },
        },
      ]
        .map((o) => stringify(o))
        .join('---\n'),
    });
    const del = await kubectl(['delete', 'immutabilitypolicy', `${name}-prod`, '--dry-run=server'], { user: 'alice' });
    // Self-protection refuses first (admission policies run before webhooks); Bulwark would too.
    expect(del.stderr).toMatch(
      new RegExp(
        `${SELF_PROTECTED} \\(group system:masters(, group policy-admins)?\\) may delete ` +
          `ImmutabilityPolicy ${name}-prod`,
      ),
    );
    // Under the prod policy (as strict as the built-in default: no agreement needed), then towards Audit.
    await kubectlOk(kubectl, ['label', 'namespace', namespace, `bulwark-e2e/helm=${namespace}-prod`]);
    await until('the prod policy governs the ConfigMap', async () => (await tryChange()).stderr.includes('Helm e2e.'));
    const relabel = await kubectl(
      ['label', '--overwrite', 'namespace', namespace, `bulwark-e2e/helm=${namespace}-audit`, '--dry-run=server'],
      { user: 'alice' },
    );
    expect(relabel.stderr).toContain('admission webhook "namespaces.bulwark.dev" denied the request');
    expect(relabel.stderr).toContain(`would switch to Audit`);
    // An update that leaves the labels alone is not the entry's business (its matchCondition) and goes through.
    const annotate = await kubectl(['annotate', 'namespace', namespace, 'note=helm-e2e', '--dry-run=server'], {
      user: 'alice',
    });
    expect(annotate.code, annotate.stderr).toBe(0);
  });

  it(
    'sends a Binding that would write annotations onto a locked pod through the subresources entry; the ' +
      'scheduler`s plain one passes',
    async () => {
      const bind = (metadata: object) =>
        kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/pods/pending/binding`, '-f', '-'], {
          input: JSON.stringify({
            apiVersion: 'v1',
            kind: 'Binding',
            metadata: { name: 'pending', ...metadata },
            target: { kind: 'Node', name: 'node-1' },
          }),
        });
      const annotated = await bind({ annotations: { owner: 'mallory' } });
      expect(annotated.code).not.toBe(0);
      expect(annotated.stderr).toContain('admission webhook "subresources.bulwark.dev" denied the request');
      expect(annotated.stderr).toContain('metadata.annotations.owner (added)');
      // Only zone and region labels (what the apiserver adds from the node): not sent at all,
      // which shows the matchCondition at work, since Bulwark itself would refuse this one
      // (it replaces the pod's own zone label).
      const plain = await bind({ labels: { 'topology.kubernetes.io/zone': 'zone-a' } });
      expect(plain.code, plain.stderr).toBe(0);
    },
  );

  it(
    'self-protection (on by default): a non-admin cannot delete or weaken the webhook configuration or touch ' +
      'the CRDs; an admin can',
    async () => {
      // Like webhook configurations, admission policies come into force a moment after they are stored.
      await until('the self-protection policy is in force', async () =>
        (
          await kubectl(['delete', 'validatingwebhookconfiguration', 'bulwark', '--dry-run=server'], { user: 'alice' })
        ).stderr.includes(SELF_PROTECTED),
      );
      const entries = (await vwcJson('bulwark')).webhooks.length;
      const weaken = (op: unknown) =>
        kubectl(
          [
            'patch',
            'validatingwebhookconfiguration',
            'bulwark',
            '--type=json',
            '-p',
            JSON.stringify([op]),
            '--dry-run=server',
          ],
          { user: 'alice' },
        );
      const attempts = await Promise.all([
        kubectl(['delete', 'validatingwebhookconfiguration', 'bulwark', '--dry-run=server'], { user: 'alice' }),
        weaken({ op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Ignore' }),
        weaken({ op: 'remove', path: `/webhooks/${entries - 1}` }),
        weaken({ op: 'remove', path: '/webhooks/0/rules/0' }),
        weaken({ op: 'replace', path: '/webhooks/0/namespaceSelector', value: { matchLabels: { nowhere: 'true' } } }),
        weaken({
          op: 'replace',
          path: '/webhooks/0/clientConfig/caBundle',
          value: Buffer.from('not the CA').toString('base64'),
        }),
        kubectl(['delete', 'customresourcedefinition', 'imagepolicies.bulwark.dev', '--dry-run=server'], {
          user: 'alice',
        }),
        kubectl(['label', 'customresourcedefinition', 'immutabilitypolicies.bulwark.dev', 'x=y', '--dry-run=server'], {
          user: 'alice',
        }),
      ]);
      for (const r of attempts) {
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(
          joinedRegExp(
            /Bulwark self-protection: only the policy admins \(group system:masters(, group policy-admins)?/,
            /\) may (delete|change) (ValidatingWebhookConfiguration bulwark|CustomResourceDefinition \S+)/,
            /, whatever RBAC allows; alice is not one of them/,
          ),
        );
      }
      expect(await locked()).toBe(true);
      const admin = await kubectl([
        'patch',
        'validatingwebhookconfiguration',
        'bulwark',
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Ignore' }]),
        '--dry-run=server',
      ]);
      expect(admin.code, admin.stderr).toBe(0);
      const adminCrd = await kubectl([
        'delete',
        'customresourcedefinition',
        'imagepolicies.bulwark.dev',
        '--dry-run=server',
      ]);
      expect(adminCrd.code, adminCrd.stderr).toBe(0);
    },
  );

  it(
    'self-protection guards the release namespace: alice cannot touch the Deployment, Service, Secrets, ' +
      'tokens, RBAC, or run anything there; the cluster`s controllers and admins can',
    async () => {
      await kubectlOk(kubectl, [
        'create',
        'secret',
        'generic',
        'cosign-pub',
        '-n',
        NS,
        '--from-literal=cosign.pub=key',
      ]);
      const asAlice = (args: string[]) => kubectl([...args, '-n', NS], { user: 'alice' });
      const dry = '--dry-run=server';
      const refused = await Promise.all([
        asAlice(['set', 'image', 'deployment/bulwark', 'bulwark=registry.local/evil:1', dry]),
        asAlice(['scale', 'deployment/bulwark', '--replicas=0', dry]),
        asAlice(['patch', 'service', 'bulwark', '--type=merge', '-p', '{"spec":{"selector":{"app":"mine"}}}', dry]),
        asAlice(['delete', 'serviceaccount', 'bulwark', dry]),
        asAlice(['patch', 'secret', 'cosign-pub', '--type=merge', '-p', '{"stringData":{"cosign.pub":"mine"}}', dry]),
        kubectl(['create', '-f', '-', dry], {
          user: 'alice',
          input: stringify({
            apiVersion: 'v1',
            kind: 'Secret',
            type: 'kubernetes.io/service-account-token',
            metadata: {
              name: 'bulwark-token',
              namespace: NS,
              annotations: { 'kubernetes.io/service-account.name': 'bulwark' },
            },
          }),
        }),
        asAlice(['create', 'token', 'bulwark']),
        kubectl(['create', '-f', '-', dry], { user: 'alice', input: restrictedPod('reader') }),
        asAlice(['create', 'deployment', 'shadow', `--image=${IMAGE}`, dry]),
        asAlice(['create', 'rolebinding', 'mine', '--clusterrole=admin', '--user=alice', dry]),
        asAlice(['delete', 'poddisruptionbudget', 'bulwark', dry]),
        kubectl(['delete', 'clusterrolebinding', 'bulwark', dry], { user: 'alice' }),
        kubectl(['delete', 'namespace', NS, dry], { user: 'alice' }),
      ]);
      for (const r of refused) {
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain(SELF_PROTECTED);
        expect(r.stderr).toContain('alice is not one of them');
      }
      expect(refused[0]?.stderr).toContain(`may change Deployment ${NS}/bulwark`);
      expect(refused[6]?.stderr).toContain(`may create serviceaccounts/token ${NS}/bulwark`);

      // The cluster's own components keep Bulwark running: the deployment controller writes its
      // revision, the replicaset controller makes pods (kube-controller-manager's shared identity
      // too), the kubelet asks for their tokens. Impersonated, with the dev group for RBAC.
      const as = (user: string, ...groups: string[]) => [
        `--as=${user}`,
        ...['dev', ...groups].map((g) => `--as-group=${g}`),
      ];
      const allowed = await Promise.all([
        kubectl([
          'annotate',
          'deployment',
          'bulwark',
          '-n',
          NS,
          'deployment.kubernetes.io/revision=2',
          dry,
          ...as('system:serviceaccount:kube-system:deployment-controller'),
        ]),
        kubectl(['create', '-f', '-', dry, ...as('system:serviceaccount:kube-system:replicaset-controller')], {
          input: restrictedPod('bulwark-abc'),
        }),
        kubectl(['create', '-f', '-', dry, ...as('system:kube-controller-manager')], {
          input: restrictedPod('bulwark-def'),
        }),
        kubectl(['create', 'token', 'bulwark', '-n', NS, ...as('system:node:node-1', 'system:nodes')]),
        kubectl(['set', 'image', 'deployment/bulwark', '-n', NS, 'bulwark=registry.local/next:2', dry]),
        kubectl(['delete', 'secret', 'cosign-pub', '-n', NS, dry]),
      ]);
      for (const r of allowed) expect(r.code, r.stderr).toBe(0);
      // But a controller's identity is no key outside the release namespace's objects.
      const elsewhere = await kubectl([
        'annotate',
        'validatingwebhookconfiguration',
        'bulwark',
        'x=y',
        dry,
        ...as('system:serviceaccount:kube-system:deployment-controller'),
      ]);
      expect(elsewhere.stderr).toContain(SELF_PROTECTED);
    },
  );

  it('self-protection in certManager mode: the CA injector may change the caBundle and nothing else', async () => {
    // Only the policy and the webhook configuration (there is no cert-manager here), pointed
    // at the harness's Bulwark: once the test has injected its CA, the configuration works.
    const rendered = await helm([
      'template',
      'inj',
      CHART,
      '-n',
      NS,
      '--kube-version',
      KUBE_VERSION,
      '--set',
      'tls.mode=certManager',
      '--set',
      `webhook.url=${harnessUrl}`,
      '--show-only',
      'templates/webhook.yaml',
      '--show-only',
      'templates/self-protection.yaml',
    ]);
    expect(rendered.code, rendered.stderr).toBe(0);
    await kubectlOk(kubectl, ['apply', '-f', '-'], { input: rendered.stdout });
    try {
      const vwc = 'inj-bulwark';
      const asInjector = ['--as=system:serviceaccount:cert-manager:cert-manager-cainjector', '--as-group=dev'];
      const patch = (ops: unknown[], dryRun = true) =>
        kubectl([
          'patch',
          'validatingwebhookconfiguration',
          vwc,
          '--type=json',
          '-p',
          JSON.stringify(ops),
          ...(dryRun ? ['--dry-run=server'] : []),
          ...asInjector,
        ]);
      await until('the policy is in force', async () =>
        (await patch([{ op: 'replace', path: '/webhooks/0/timeoutSeconds', value: 11 }])).stderr.includes(
          'Bulwark self-protection',
        ),
      );

      const caBundle = Buffer.from(await readFile(harnessCaFile)).toString('base64');
      const entries = (await vwcJson(vwc)).webhooks.length;
      const inject = await patch(
        [...Array(entries).keys()].map((i) => ({
          op: 'add',
          path: `/webhooks/${i}/clientConfig/caBundle`,
          value: caBundle,
        })),
        false,
      );
      expect(inject.code, inject.stderr).toBe(0);
      for (const ops of [
        [{ op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Ignore' }],
        [{ op: 'replace', path: '/webhooks/1/clientConfig/url', value: 'https://127.0.0.1:2/validate' }],
        [{ op: 'replace', path: '/webhooks/0/namespaceSelector', value: {} }],
        [{ op: 'remove', path: '/webhooks/5' }],
      ]) {
        const r = await patch(ops);
        expect(r.code, JSON.stringify(ops)).not.toBe(0);
        expect(r.stderr).toContain('Bulwark self-protection');
      }
      const del = await kubectl(['delete', 'validatingwebhookconfiguration', vwc, '--dry-run=server', ...asInjector]);
      expect(del.stderr).toContain('Bulwark self-protection');
    } finally {
      await kubectl(['delete', '-f', '-'], { input: rendered.stdout });
    }
  });

  it('helm upgrade works and keeps the caBundle', async () => {
    const before = await caBundles('bulwark');
    const upgrade = await helm([
      'upgrade',
      'bulwark',
      CHART,
      '-n',
      NS,
      '--reuse-values',
      '--set',
      'webhook.timeoutSeconds=12',
    ]);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    const vwc = await vwcJson('bulwark');
    expect(vwc.webhooks.every((w: { timeoutSeconds: number }) => w.timeoutSeconds === 12)).toBe(true);
    expect(await caBundles('bulwark')).toEqual(before);
    expect(await locked()).toBe(true);
  });

  it('helm uninstall works only for an admin, leaves nothing behind and never leaves the cluster locked', async () => {
    const byAlice = await helm(['uninstall', 'bulwark', '-n', NS], 'alice');
    expect(byAlice.code).not.toBe(0);
    expect(await leftovers('bulwark')).toContain('validatingwebhookconfiguration.admissionregistration.k8s.io/bulwark');

    const byAdmin = await helm(['uninstall', 'bulwark', '-n', NS]);
    expect(byAdmin.code, byAdmin.stderr).toBe(0);
    expect(await leftovers('bulwark')).toBe('');
    expect((await helm(['list', '-n', NS, '--all', '-q'])).stdout.trim()).toBe('');
    await until('changes are possible again after uninstall', unlocked);
  });

  it(
    'tls.mode=generate: a Bulwark serving the generated certificate under the chart`s ServiceAccount decides; ' +
      'upgrades keep the CA',
    async () => {
      const port = await freePort();
      const install = await helm([
        'install',
        'gen',
        CHART,
        '-n',
        NS,
        // The harness installed the CRDs (not the release's): the release leaves them alone.
        '--set',
        'crds.enabled=false',
        '--set',
        `webhook.url=https://localhost:${port}/validate`,
        '--set',
        'deployment.enabled=false',
        // Ignore until the second Bulwark runs: it needs the certificate this install makes.
        '--set',
        'webhook.failurePolicy=Ignore',
        '--set',
        'tls.extraDnsNames={localhost}',
      ]);
      expect(install.code, install.stderr).toBe(0);
      const secret = async () =>
        JSON.parse(await kubectlOk(kubectl, ['get', 'secret', 'gen-bulwark-tls', '-n', NS, '-o', 'json']))
          .data as Record<string, string>;
      const issued = await secret();
      expect(await caBundles('gen-bulwark')).toEqual(new Set([issued['ca.crt']]));
      const pem = (key: string) => Buffer.from(issued[key] ?? '', 'base64').toString('utf8');
      expect(new X509Certificate(pem('tls.crt')).checkIssued(new X509Certificate(pem('ca.crt')))).toBe(true);

      second = await startSecondBulwark(port, { ca: pem('ca.crt'), cert: pem('tls.crt'), key: pem('tls.key') });

      const upgrade = await helm([
        'upgrade',
        'gen',
        CHART,
        '-n',
        NS,
        '--reuse-values',
        '--set',
        'webhook.failurePolicy=Fail',
      ]);
      expect(upgrade.code, upgrade.stderr).toBe(0);
      expect(await secret()).toEqual(issued);
      expect(await caBundles('gen-bulwark')).toEqual(new Set([issued['ca.crt']]));

      await until('the generate-mode release denies through the second Bulwark', locked);
      const scale = await kubectl(['scale', 'deployment', 'web', '-n', namespace, '--replicas=3']);
      expect(scale.stderr).toContain('admission webhook "subresources.bulwark.dev" denied the request');
      expect(scale.stderr).toContain('spec.replicas');
      const log = await readFile(second.logFile, 'utf8');
      expect(log).toContain(`"source":"ImmutabilityPolicy","msg":"informer synced"`);

      // Least privilege, as this API server's RBAC authorizer answers for the chart's ServiceAccount.
      const canI = async (...args: string[]) =>
        (await kubectl(['auth', 'can-i', ...args, `--as=system:serviceaccount:${NS}:gen-bulwark`])).stdout.trim();
      expect(await canI('get', 'pods', '--subresource=log', '-n', namespace)).toBe('no');
      expect(await canI('create', 'pods', '--subresource=exec', '-n', namespace)).toBe('no');
      expect(await canI('get', 'nodes', '--subresource=proxy')).toBe('no');
      expect(await canI('list', 'secrets', '-A')).toBe('no');
      expect(await canI('list', 'configmaps', '-A')).toBe('yes');
      expect(await canI('list', 'widgets.e2e.bulwark.dev', '-A')).toBe('no');
      // So a Secret cannot be locked (the namespace guard could not see it), created or labelled,
      // and the refusal names the value to change; the namespace guard skips Secrets.
      const secretYaml = (labels: Record<string, string>) =>
        stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token', namespace, labels } });
      const lockedSecret = await kubectl(['create', '--dry-run=server', '-f', '-'], { input: secretYaml(LOCKED) });
      expect(lockedSecret.stderr).toContain('bulwark may not list secrets, so it could not see this object');
      expect(lockedSecret.stderr).toContain('rbac.listSecrets=true');
      await kubectlOk(kubectl, ['create', '-f', '-'], { input: secretYaml({}) });
      const labelled = await kubectl([
        'label',
        'secret',
        'token',
        '-n',
        namespace,
        `${LOCK_LABEL.key}=${LOCK_LABEL.value}`,
      ]);
      expect(labelled.stderr).toContain('bulwark may not list secrets');
      const holdsSecrets = await newNamespace();
      await kubectlOk(kubectl, ['create', 'secret', 'generic', 'plain', '-n', holdsSecrets, '--from-literal=a=b']);
      const deleted = await kubectl(['delete', 'namespace', holdsSecrets, '--dry-run=server']);
      expect(deleted.code, deleted.stderr).toBe(0);

      // Break-glass reads the UnlockRequest's target (rbac.readUnlockTargets); without that
      // grant the request is refused because the target cannot be read. A ServiceAccount:
      // ConfigMaps stay readable without it (keyless trusted roots), Deployments and Pods too
      // (the parents of scale and eviction requests).
      const unlock = () =>
        kubectl(['create', '--dry-run=server', '-f', '-'], {
          user: 'alice',
          input: stringify({
            apiVersion: 'bulwark.dev/v1alpha1',
            kind: 'UnlockRequest',
            metadata: { name: `helm-e2e-${attempt++}` },
            spec: {
              target: { apiVersion: 'v1', kind: 'ServiceAccount', namespace, name: 'default' },
              operations: ['UPDATE'],
              reason: 'helm e2e',
              duration: '10m',
              requester: 'alice',
            },
          }),
        });
      const readable = await unlock();
      // Admitted or denied on its merits (with no ImmutabilityPolicy nobody may approve), but read.
      expect(
        readable.code === 0 || readable.stderr.includes('admission webhook "policies.bulwark.dev" denied'),
        readable.stderr,
      ).toBe(true);
      expect(readable.stderr).not.toContain('cannot read the target');
      const narrowed = await helm([
        'upgrade',
        'gen',
        CHART,
        '-n',
        NS,
        '--reuse-values',
        '--set',
        'rbac.readUnlockTargets=false',
      ]);
      expect(narrowed.code, narrowed.stderr).toBe(0);
      const unreadable = await unlock();
      expect(unreadable.stderr).toContain('admission webhook "policies.bulwark.dev" denied the request');
      expect(unreadable.stderr).toContain('cannot read the target ServiceAccount');
      expect(await secret()).toEqual(issued);

      const uninstall = await helm(['uninstall', 'gen', '-n', NS]);
      expect(uninstall.code, uninstall.stderr).toBe(0);
      expect(await leftovers('gen')).toBe('');
      await until('changes are possible again after uninstall', unlocked);
    },
  );
});

/**
 * A pod running as Bulwark's ServiceAccount, with what Pod Security "restricted" (the release namespace's) asks for.
 */
function restrictedPod(name: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: {
      serviceAccountName: 'bulwark',
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'c',
          image: IMAGE,
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  });
}

/** A Pod with the chart's pod template, so PodSecurity admission (which judges pods, not Deployments) sees it. */
function podFromDeployment(rendered: string, options = { hardened: true }): string {
  const deployment = parseAllDocuments(rendered)
    .map((d) => d.toJS())
    .find((o) => o?.kind === 'Deployment');
  if (!deployment) throw new Error('the chart rendered no Deployment');
  const { metadata, spec } = deployment.spec.template;
  if (!options.hardened) {
    delete spec.securityContext;
    for (const c of spec.containers) delete c.securityContext;
  }
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...metadata, name: 'bulwark-pod-security-check', namespace: NS },
    spec,
  });
}

/**
 * Bulwark as a second local process, with the chart's generated certificate and a token of
 * the chart's ServiceAccount. Ready means its informers listed with only the chart's RBAC,
 * and it served /readyz with a certificate valid for "localhost" under the chart's CA.
 */
async function startSecondBulwark(
  port: number,
  tls: { ca: string; cert: string; key: string },
): Promise<ManagedProcess> {
  const dir = join(work, 'gen');
  await mkdir(dir, { recursive: true });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  await writeFile(certFile, tls.cert, { mode: 0o600 });
  await writeFile(keyFile, tls.key, { mode: 0o600 });
  const token = (await kubectlOk(kubectl, ['create', 'token', 'gen-bulwark', '-n', NS, '--duration=1h'])).trim();
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'sa',
      clusters: [
        {
          name: 'c',
          cluster: { server: cluster.server, 'certificate-authority': join(cluster.dir, 'apiserver-ca.crt') },
        },
      ],
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'c', user: 'sa' } }],
    }),
    { mode: 0o600 },
  );
  const proc = startProcess({
    name: 'bulwark-gen',
    command: nodeBinary(),
    args: [
      join(REPO_ROOT, 'bin', 'bulwark.js'),
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--cert',
      certFile,
      '--key',
      keyFile,
      '--kubeconfig',
      kubeconfig,
      '--cluster',
      'required',
      // As the chart's Deployment passes them: its attestation keys, under the chart's Role.
      '--namespace',
      NS,
      '--attestation-keys-secret',
      'gen-bulwark-attestation-keys',
    ],
    cwd: REPO_ROOT,
    logFile: join(dir, 'bulwark.log'),
  });
  let last = '';
  try {
    await until(
      'the second Bulwark is ready',
      async () => {
        if (proc.exitStatus())
          throw new Error(`the second Bulwark exited (${proc.exitStatus()}): ${await readFile(proc.logFile, 'utf8')}`);
        last = await readyz(port, tls.ca).catch((err: Error) => err.message);
        return last === 'ready';
      },
      30_000,
    );
  } catch (err) {
    await proc.stop();
    throw new Error(`${(err as Error).message}; last /readyz: ${last}`);
  }
  return proc;
}

/** GET /readyz by name "localhost" (the chart's certificate has no IP address), trusting only the chart's CA. */
function readyz(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(
      { host: '127.0.0.1', port, path: '/readyz', servername: 'localhost', ca, agent: false, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? 'ready' : `HTTP ${res.statusCode}`);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
