// `npm run capture-fixtures`: records the AdmissionReviews a real kube-apiserver sends
// for the scenarios the unit tests cover, into test/fixtures/reviews/. A recorder that
// wraps Bulwark's app stands in for the webhook, so each request also gets Bulwark's
// real answer (denials stop multi-step kubectl commands exactly as they would).
// `npm run capture-fixtures -- NAME...` rewrites only the fixtures named (every scenario
// still runs, since later steps build on earlier ones).

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonLossless } from '../src/json/parse.ts';
import { startCluster } from '../harness/cluster.ts';
import { kubectlOk, type Kubectl } from '../harness/kubectl.ts';
import { nodeBinary, REPO_ROOT } from '../harness/paths.ts';
import { capturePodSchemas } from './capture-openapi.ts';

const OUT = join(REPO_ROOT, 'test', 'fixtures', 'reviews');
const ONLY = new Set(process.argv.slice(2));
const NS = 'demo';
const LOCK = 'bulwark.dev/immutable';

const yaml = (lines: string[]) => `${lines.join('\n')}\n`;
const configMap = (name: string, data: Record<string, string>, labelled = true, extra: string[] = []) =>
  yaml([
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${NS}`,
    ...(labelled ? ['  labels:', `    ${LOCK}: "true"`, '    app: shop'] : ['  labels:', '    app: shop']),
    ...extra,
    'data:',
    ...Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`),
  ]);
const deployment = (image: string) =>
  yaml([
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    `  namespace: ${NS}`,
    '  labels:',
    `    ${LOCK}: "true"`,
    '    app: web',
    'spec:',
    '  replicas: 2',
    '  selector:',
    '    matchLabels: {app: web}',
    '  template:',
    '    metadata:',
    '      labels: {app: web}',
    '    spec:',
    '      containers:',
    '      - name: app',
    `        image: ${image}`,
    '        ports: [{containerPort: 8080}]',
    '        env: [{name: MODE, value: production}]',
    '        resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}',
    '      - name: sidecar',
    `        image: registry.local:5000/tools/proxy@sha256:${'ab'.repeat(32)}`,
  ]);

async function main(): Promise<void> {
  const recorded = join(REPO_ROOT, '.cluster-capture');
  rmSync(recorded, { recursive: true, force: true });
  mkdirSync(recorded, { recursive: true });
  const cluster = await startCluster({
    log: (m) => console.error(`[capture] ${m}`),
    webhookCommand: [
      nodeBinary(),
      join(REPO_ROOT, 'test', 'e2e', 'capture', 'recorder.ts'),
      '--host',
      '{host}',
      '--port',
      '{port}',
      '--cert',
      '{cert}',
      '--key',
      '{key}',
      '--kubeconfig',
      '{kubeconfig}',
      '--out',
      recorded,
    ],
  });
  const k: Kubectl = cluster.kubectl;
  const ok = (args: string[], input?: string) => kubectlOk(k, args, { namespace: NS, ...(input ? { input } : {}) });
  /** Runs a step that may be denied; returns its stderr. */
  const step = async (args: string[], opts: { input?: string; user?: 'alice' } = {}) => {
    const r = await k(args, { namespace: NS, ...opts });
    console.error(
      `[capture] kubectl ${args.join(' ')} -> ${r.code}${r.code ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`,
    );
    return r;
  };
  let seen = new Set(readdirSync(recorded));
  /** Copies the newest review recorded since the last call that matches, as `name`. */
  const keep = (
    name: string,
    match: { operation: string; resource: string; subResource?: string; name?: string; dryRun?: boolean },
  ) => {
    const fresh = readdirSync(recorded)
      .filter((f) => !seen.has(f))
      .sort();
    seen = new Set(readdirSync(recorded));
    const hit = fresh.reverse().find((f) => {
      const r = JSON.parse(readFileSync(join(recorded, f), 'utf8')).request;
      return (
        r.operation === match.operation &&
        r.resource.resource === match.resource &&
        r.subResource === match.subResource &&
        (match.name === undefined || r.name === match.name) &&
        (match.dryRun === undefined || r.dryRun === match.dryRun)
      );
    });
    if (!hit) throw new Error(`no recorded review for ${name}: ${JSON.stringify(match)} among ${fresh.join(', ')}`);
    if (ONLY.size > 0 && !ONLY.has(name)) return;
    // Re-indented without rounding: large integers stay exact (raw number leaves).
    writeFileSync(
      join(OUT, `${name}.json`),
      `${JSON.stringify(parseJsonLossless(readFileSync(join(recorded, hit), 'utf8')), null, 2)}\n`,
    );
    console.error(`[capture] ${name} <- ${hit}`);
  };
  const mark = () => {
    seen = new Set(readdirSync(recorded));
  };

  try {
    mkdirSync(OUT, { recursive: true });
    for (const crd of ['widgets', 'documents']) {
      await kubectlOk(k, ['apply', '-f', join(REPO_ROOT, 'test', 'fixtures', 'crds', `${crd}.e2e.bulwark.dev.yaml`)]);
      await kubectlOk(k, ['wait', '--for=condition=established', `crd/${crd}.e2e.bulwark.dev`, '--timeout=60s']);
    }
    await kubectlOk(k, ['create', 'namespace', NS]);
    mark();

    await step(['apply', '-f', '-'], { input: configMap('app-config', { color: 'blue', size: 'L' }), user: 'alice' });
    keep('configmap-create-labelled', { operation: 'CREATE', resource: 'configmaps', name: 'app-config' });
    await step(['apply', '--server-side', '-f', '-'], {
      input: configMap('app-config', { color: 'blue', size: 'L' }),
      user: 'alice',
    });
    keep('configmap-apply-identical', { operation: 'UPDATE', resource: 'configmaps', name: 'app-config' });
    await step(['apply', '-f', '-'], { input: configMap('app-config', { color: 'red', size: 'L' }), user: 'alice' });
    keep('configmap-apply-changed', { operation: 'UPDATE', resource: 'configmaps', name: 'app-config' });
    await step(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      input: configMap('app-config', { color: 'green', size: 'L' }),
      user: 'alice',
    });
    keep('configmap-server-side-apply', { operation: 'UPDATE', resource: 'configmaps', name: 'app-config' });
    await step(['label', 'configmap', 'app-config', `${LOCK}-`], { user: 'alice' });
    keep('configmap-label-removed', { operation: 'UPDATE', resource: 'configmaps', name: 'app-config' });
    await step(['label', '--overwrite', 'configmap', 'app-config', `${LOCK}=false`], { user: 'alice' });
    keep('configmap-label-false', { operation: 'UPDATE', resource: 'configmaps', name: 'app-config' });
    await step(['patch', 'configmap', 'app-config', '--dry-run=server', '-p', '{"data":{"color":"purple"}}'], {
      user: 'alice',
    });
    keep('configmap-patch-dryrun', { operation: 'UPDATE', resource: 'configmaps', name: 'app-config', dryRun: true });
    await step(['delete', 'configmap', 'app-config'], { user: 'alice' });
    keep('configmap-delete-labelled', { operation: 'DELETE', resource: 'configmaps', name: 'app-config' });

    await ok(['apply', '-f', '-'], configMap('plain', { a: '1' }, false));
    mark();
    await step(['label', 'configmap', 'plain', `${LOCK}=true`], { user: 'alice' });
    keep('configmap-label-added', { operation: 'UPDATE', resource: 'configmaps', name: 'plain' });
    // Data smuggled into kubectl's last-applied annotation of a locked object.
    await step(
      [
        'annotate',
        '--overwrite',
        'configmap',
        'plain',
        'kubectl.kubernetes.io/last-applied-configuration={"smuggled":"data"}',
      ],
      { user: 'alice' },
    );
    keep('configmap-last-applied-forged', { operation: 'UPDATE', resource: 'configmaps', name: 'plain' });
    await ok(['apply', '-f', '-'], configMap('other', { a: '1' }, false));
    mark();
    await step(['patch', 'configmap', 'other', '-p', '{"data":{"a":"2"}}'], { user: 'alice' });
    keep('configmap-update-unlabelled', { operation: 'UPDATE', resource: 'configmaps', name: 'other' });
    await step(['delete', 'configmap', 'other'], { user: 'alice' });
    keep('configmap-delete-unlabelled', { operation: 'DELETE', resource: 'configmaps', name: 'other' });

    // A terminating object: delete (finalizer holds it), lock it, then remove the finalizer.
    await ok(['apply', '-f', '-'], configMap('finalized', { a: '1' }, false, ['  finalizers: ["example.com/hold"]']));
    await ok(['delete', 'configmap', 'finalized', '--wait=false']);
    await ok(['label', 'configmap', 'finalized', `${LOCK}=true`]);
    mark();
    await step(
      ['patch', 'configmap', 'finalized', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]'],
      { user: 'alice' },
    );
    keep('configmap-finalizer-removed-terminating', { operation: 'UPDATE', resource: 'configmaps', name: 'finalized' });

    await ok(['apply', '-f', '-'], deployment('registry.local:5000/shop/web:1.0'));
    mark();
    await step(['set', 'image', 'deployment/web', 'app=registry.local:5000/shop/web:1.1'], { user: 'alice' });
    keep('deployment-image-changed', { operation: 'UPDATE', resource: 'deployments', name: 'web' });
    await step(['scale', 'deployment/web', '--replicas=3'], { user: 'alice' });
    keep('deployment-scale', { operation: 'UPDATE', resource: 'deployments', subResource: 'scale', name: 'web' });
    await step([
      'patch',
      'deployment/web',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"observedGeneration":1,"replicas":0}}',
    ]);
    keep('deployment-status-update', {
      operation: 'UPDATE',
      resource: 'deployments',
      subResource: 'status',
      name: 'web',
    });

    await ok(['create', 'secret', 'generic', 'db-password', '--from-literal=password=s3cret']);
    await ok(['label', 'secret', 'db-password', `${LOCK}=true`]);
    mark();
    await step(['patch', 'secret', 'db-password', '-p', '{"stringData":{"password":"changed"}}'], { user: 'alice' });
    keep('secret-update-labelled', { operation: 'UPDATE', resource: 'secrets', name: 'db-password' });

    await kubectlOk(k, ['create', 'clusterrole', 'auditor', '--verb=get,list', '--resource=pods']);
    await kubectlOk(k, ['label', 'clusterrole', 'auditor', `${LOCK}=true`]);
    mark();
    await step([
      'patch',
      'clusterrole',
      'auditor',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/rules/0/verbs/-","value":"delete"}]',
    ]);
    keep('clusterrole-update-labelled', { operation: 'UPDATE', resource: 'clusterroles', name: 'auditor' });

    await ok(
      ['apply', '-f', '-'],
      yaml([
        'apiVersion: e2e.bulwark.dev/v1',
        'kind: Widget',
        'metadata:',
        '  name: gear',
        `  namespace: ${NS}`,
        '  labels:',
        `    ${LOCK}: "true"`,
        'spec:',
        '  size: small',
        '  replicas: 1',
      ]),
    );
    mark();
    await step(['patch', 'widget', 'gear', '--type=merge', '-p', '{"spec":{"size":"large"}}'], { user: 'alice' });
    keep('customresource-update-labelled', { operation: 'UPDATE', resource: 'widgets', name: 'gear' });
    await step(['delete', 'widget', 'gear'], { user: 'alice' });
    keep('customresource-delete-labelled', { operation: 'DELETE', resource: 'widgets', name: 'gear' });
    // Integers beyond 2^53 (a Document's spec takes any JSON), written as JSON text so
    // that no double rounds them on the way.
    const bigDocument = (microDollars: string) =>
      `{"apiVersion":"e2e.bulwark.dev/v1","kind":"Document","metadata":{"name":"invoice","namespace":"${NS}","` +
      `labels":{"${LOCK}":"true"}},"spec":{"currency":"EUR","microDollars":${microDollars}}}`;
    await ok(['create', '-f', '-'], bigDocument('9007199254740993'));
    mark();
    await step(['replace', '-f', '-'], { input: bigDocument('9007199254740992'), user: 'alice' });
    keep('customresource-bigint-changed', { operation: 'UPDATE', resource: 'documents', name: 'invoice' });

    mark();
    await ok([
      'run',
      'worker',
      `--image=registry.local:5000/shop/worker@sha256:${'cd'.repeat(32)}`,
      '--labels',
      `${LOCK}=true`,
    ]);
    keep('pod-create', { operation: 'CREATE', resource: 'pods', name: 'worker' });
    await step([
      'debug',
      'worker',
      '--image=registry.local:5000/tools/debug:latest',
      '--attach=false',
      '-c',
      'debugger',
    ]);
    keep('pod-ephemeralcontainers', {
      operation: 'UPDATE',
      resource: 'pods',
      subResource: 'ephemeralcontainers',
      name: 'worker',
    });
    await step(['create', 'cronjob', 'report', '--image=registry.local:5000/shop/report:2.0', '--schedule=0 * * * *']);
    keep('cronjob-create', { operation: 'CREATE', resource: 'cronjobs', name: 'report' });
    await step([
      'create',
      'deployment',
      'api',
      `--image=registry.local:5000/shop/api@sha256:${'ef'.repeat(32)}`,
      '--image=docker.io/library/nginx:1.27',
    ]);
    keep('deployment-create', { operation: 'CREATE', resource: 'deployments', name: 'api' });
    await step(['create', '--raw', `/api/v1/namespaces/${NS}/pods/worker/eviction`, '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'worker', namespace: NS } }),
    });
    keep('pod-eviction', { operation: 'CREATE', resource: 'pods', subResource: 'eviction', name: 'worker' });
    // The worker pod is locked and pending (no scheduler): bind it, first with an annotation.
    const binding = (annotations?: Record<string, string>) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'worker', namespace: NS, ...(annotations ? { annotations } : {}) },
        target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' },
      });
    await step(['create', '--raw', `/api/v1/namespaces/${NS}/pods/worker/binding`, '-f', '-'], {
      input: binding({ owner: 'mallory' }),
      user: 'alice',
    });
    keep('pod-binding-annotated', { operation: 'CREATE', resource: 'pods', subResource: 'binding', name: 'worker' });
    await step(['create', '--raw', `/api/v1/namespaces/${NS}/pods/worker/binding`, '-f', '-'], {
      input: binding(),
      user: 'alice',
    });
    keep('pod-binding', { operation: 'CREATE', resource: 'pods', subResource: 'binding', name: 'worker' });

    console.error(`[capture] OpenAPI documents with pod specs: ${(await capturePodSchemas(k)).join(', ')}`);
  } finally {
    await cluster.stop();
  }
}

await main();
