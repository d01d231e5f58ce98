// A new replica answers its first reviews several times slower than a warm one: V8 runs
// the request's path (TLS, node:http, the decoder, the decision, the answer) from bytecode
// until enough calls have taught it what to compile. The apiserver calls a webhook a few
// times a second on most clusters, so a fresh replica (every rollout, every failover)
// stays in that slow phase for minutes. Through kube-apiserver (`npm run bench`, two
// `bulwark serve` processes in the same run, writes paired round by round) a replica that
// had answered 20,000 reviews answered a denied write 0.29 ms sooner than a fresh one, and
// took 0.57 ms in its handler per denial against 0.71.
//
// So, with --warm-up-rounds N, before it listens the replica answers synthetic reviews over a loopback connection:
// locked and unlocked ConfigMaps updated, reapplied unchanged and deleted, and a locked
// Deployment scaled. They go to a second server of its own, on an ephemeral 127.0.0.1
// port, built from the same code with its own app (main.ts): facts from `noClusterFacts`
// (no cluster, no registry), no recorders, metrics of its own and a logger that discards.
// Nothing reaches the cluster, the logs or /metrics, and the real server is not yet
// listening, so no real review is ever told apart from a synthetic one. A failed warm-up
// is logged and start-up goes on (the replica is then only slower at first).

import { connect } from 'node:http2';
import { Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createWebhookServer, isHttp2Server, type SecureServerOptions } from './secure-server.ts';
import type { RequestListener } from 'node:http';

export interface WarmUpOptions {
  /** The app the warm-up server runs: the webhook's own, built with the dependencies above. */
  app: RequestListener;
  /** The webhook server's options (protocol, limits, certificate); client authentication left out. */
  server: SecureServerOptions;
  lockLabel: { key: string; value: string };
  /** Rounds of the synthetic set (each answers every review of it once); 0: none. */
  rounds: number;
}

/**
 * Off unless asked for: 400 rounds (2,000 reviews) took 0.1 ms off the median denial of a
 * fresh replica through kube-apiserver (handler 0.65 against 0.75 ms, same run), but cost
 * about a second of start-up and 15 MiB of idle RSS (the compiled code it leaves, measured
 * with the image's flags and compile cache: 104-106 MiB against 88-89), which would take
 * the replica past issue 19's idle goal of 100 MB.
 */
export const DEFAULT_WARM_UP_ROUNDS = 0;
const NAMESPACE = 'bulwark-warm-up';
const USER = { username: 'system:serviceaccount:bulwark:warm-up', uid: 'warm-up', groups: ['system:authenticated'] };
const APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Json = Record<string, unknown>;

function metadata(name: string, labels: Record<string, string>, fields: Json, applied?: Json): Json {
  return {
    name,
    namespace: NAMESPACE,
    uid: `00000000-0000-4000-8000-${name.padStart(12, '0').slice(-12)}`,
    resourceVersion: '1000',
    generation: 1,
    creationTimestamp: '2026-01-01T00:00:00Z',
    labels,
    ...(applied ? { annotations: { [APPLIED]: `${JSON.stringify(applied)}\n` } } : {}),
    managedFields: [
      {
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2026-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: fields,
      },
    ],
  };
}

function configMap(name: string, labels: Record<string, string>, data: Record<string, string>): Json {
  const manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NAMESPACE, labels }, data };
  const fields = {
    'f:data': Object.fromEntries(Object.keys(data).map((k) => [`f:${k}`, {}])),
    'f:metadata': { 'f:annotations': { [`f:${APPLIED}`]: {} }, 'f:labels': {} },
  };
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata(name, labels, fields, manifest), data };
}

function deployment(name: string, labels: Record<string, string>, replicas: number): Json {
  const pod = {
    metadata: { labels: { app: name } },
    spec: {
      containers: [
        {
          name: 'app',
          image: `registry.example/app@sha256:${'a'.repeat(64)}`,
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          env: Array.from({ length: 8 }, (_, i) => ({ name: `SETTING_${i}`, value: `value-${i}` })),
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
        },
      ],
    },
  };
  const fields = { 'f:spec': { 'f:replicas': {}, 'f:template': {} } };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(name, labels, fields),
    spec: { replicas, selector: { matchLabels: { app: name } }, template: pod },
    status: { replicas, readyReplicas: replicas, observedGeneration: 1 },
  };
}

function review(n: number, operation: 'UPDATE' | 'DELETE', resource: string, oldObject: Json, object?: Json): string {
  const { apiVersion, kind } = oldObject as { apiVersion: string; kind: string };
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const gvk = { group, version, kind };
  const gvr = { group, version, resource };
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      name: (oldObject.metadata as Json).name,
      namespace: NAMESPACE,
      operation,
      userInfo: USER,
      ...(object ? { object } : {}),
      oldObject,
      dryRun: false,
      options:
        operation === 'DELETE'
          ? { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', propagationPolicy: 'Background' }
          : { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-client-side-apply' },
    },
  });
}

/** The synthetic set: what a webhook is sent most (updates and reapplies, locked or not), and a delete. */
export function warmUpReviews(lockLabel: { key: string; value: string }): Buffer[] {
  const locked = { [lockLabel.key]: lockLabel.value, app: 'warm-up' };
  const open = { app: 'warm-up' };
  const before = configMap('settings', locked, { color: 'blue', size: 'large' });
  const changed = configMap('settings', locked, { color: 'green', size: 'large' });
  const unlocked = configMap('scratch', open, { color: 'blue' });
  const unlockedChanged = configMap('scratch', open, { color: 'green' });
  return [
    review(1, 'UPDATE', 'configmaps', before, changed),
    review(2, 'UPDATE', 'configmaps', before, before),
    review(3, 'UPDATE', 'configmaps', unlocked, unlockedChanged),
    review(4, 'DELETE', 'configmaps', before),
    review(5, 'UPDATE', 'deployments', deployment('web', locked, 2), deployment('web', locked, 3)),
  ].map((text) => Buffer.from(text));
}

type Post = (body: Buffer) => Promise<number>;

/** A client of the warm-up server: the protocol the apiserver would use with this server. */
function clientOf(port: number, http2: boolean): { post: Post; close(): void } {
  // The certificate is the replica's own, on its own loopback port: nothing to verify.
  if (http2) {
    const session = connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    const post: Post = (body) =>
      new Promise((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/validate', 'content-type': 'application/json' });
        let status = 0;
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
        });
        stream.on('error', reject);
        stream.on('end', () => resolve(status));
        stream.resume();
        stream.end(body);
      });
    return { post, close: () => session.close() };
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const post: Post = (body) =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          agent,
          method: 'POST',
          path: '/validate',
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { post, close: () => agent.destroy() };
}

/** Answers the synthetic set `rounds` times through a server of its own; returns how many reviews it sent. */
export async function warmUp(options: WarmUpOptions): Promise<number> {
  if (options.rounds <= 0) return 0;
  const bodies = warmUpReviews(options.lockLabel);
  const server = createWebhookServer(options.server, options.app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const client = clientOf((server.address() as AddressInfo).port, options.server.http2);
  let sent = 0;
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const body of bodies) {
        const status = await client.post(body);
        if (status !== 200) throw new Error(`a synthetic review was answered with HTTP ${status}`);
        sent++;
      }
    }
  } finally {
    client.close();
    if (!isHttp2Server(server)) server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return sent;
}
