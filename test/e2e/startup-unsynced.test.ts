// Bulwark must not decide on policies it has not read. A second Bulwark is started
// against the real apiserver through a TCP relay that is not there yet (a late or
// unreachable apiserver): until its informers have listed, /validate denies everything
// with 503 and says why, also when the apiserver calls it (it is registered by URL for
// one namespace, as the harness and scripts/cluster.ts register Bulwark). Then the relay
// comes up and it decides normally. Then the relay drops every connection (broken
// watches): back within the resync grace, nothing is refused and it stays ready; down
// longer, it is unready and denying again until it has re-synced.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { httpsRequest } from '../helpers/https.ts';
import { loadReview } from '../helpers/fixtures.ts';
import { e2eCluster, kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { retryUntil } from './helpers/retry.ts';
import { nodeBinary, REPO_ROOT } from '../../harness/paths.ts';
import { freePort } from '../../harness/ports.ts';
import { logTail, startProcess, type ManagedProcess } from '../../harness/processes.ts';
import { BULWARK_NAMESPACE } from '../../harness/registration.ts';

/** A TCP relay on a fixed port that can be switched on and off, dropping its connections. */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  readonly port: number;
  private readonly target: { host: string; port: number };

  constructor(port: number, target: { host: string; port: number }) {
    this.port = port;
    this.target = target;
  }

  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const work = mkdtempSync(join(tmpdir(), 'bulwark-e2e-unsynced-'));
let relay: Relay;
let bulwark: ManagedProcess;
let base: string;
let ca: string;
let ns: string;
const CONFIGURATION = 'bulwark-e2e-unsynced';
const GRACE_SECONDS = 6;

/** The informers whose watch Bulwark reports broken now (bulwark_informer_watch_broken 1). */
async function brokenWatches(): Promise<string[]> {
  const res = await httpsRequest(`${base}/metrics`, { ca });
  return [...res.body.matchAll(/^bulwark_informer_watch_broken\{informer="([^"]+)"\} 1$/gm)].map((m) => m[1]!);
}

async function status(path: string): Promise<number> {
  try {
    return (await httpsRequest(`${base}${path}`, { ca })).status;
  } catch {
    return 0;
  }
}

async function review(name: string): Promise<{
  allowed: boolean;
  status?: { code: number; reason: string; message: string; details?: { retryAfterSeconds?: number } };
}> {
  const res = await httpsRequest(`${base}/validate`, { ca, method: 'POST', body: JSON.stringify(loadReview(name)) });
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as { response: { allowed: boolean } }).response;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`${what} not within ${timeoutMs} ms; bulwark log:\n${logTail(bulwark.logFile)}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  const cluster = e2eCluster();
  const server = new URL(cluster.server);
  relay = new Relay(await freePort(), { host: server.hostname, port: Number(server.port) });
  // The e2e kubeconfig, pointed at the relay (the apiserver's certificate names 127.0.0.1).
  const kubeconfig = parse(readFileSync(cluster.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  kubeconfig.clusters[0]!.cluster.server = `https://127.0.0.1:${relay.port}`;
  writeFileSync(join(work, 'kubeconfig'), stringify(kubeconfig), { mode: 0o600 });
  const port = await freePort();
  bulwark = startProcess({
    name: 'bulwark-unsynced',
    command: nodeBinary(),
    args: [
      join(REPO_ROOT, 'bin', 'bulwark.js'),
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--cert-dir',
      join(work, 'tls'),
      '--kubeconfig',
      join(work, 'kubeconfig'),
      '--cluster',
      'required',
      '--log-level',
      'info',
      // Where the harness keeps Bulwark's attestation keys (this Bulwark shares them).
      '--namespace',
      BULWARK_NAMESPACE,
      // Shorter than the default 10 s, so the test of a watch down past the grace is quick.
      '--resync-grace',
      String(GRACE_SECONDS),
    ],
    cwd: REPO_ROOT,
    logFile: join(work, 'bulwark.log'),
  });
  base = `https://127.0.0.1:${port}`;
  await until(
    'the generated CA',
    async () => {
      try {
        ca = readFileSync(join(work, 'tls', 'ca.crt'), 'utf8');
        return (await status('/healthz')) === 200;
      } catch {
        return false;
      }
    },
    30_000,
  );
}, 60_000);

afterAll(async () => {
  await kubectl(['delete', 'validatingwebhookconfiguration', CONFIGURATION, '--ignore-not-found']);
  await bulwark?.stop(2000);
  await relay?.down();
});

describe('before the policies are synced (the apiserver is unreachable)', () => {
  it('is alive but not ready', async () => {
    expect(await status('/healthz')).toBe(200);
    expect(await status('/readyz')).toBe(503);
  });

  it.each(['pod-create', 'configmap-create-labelled', 'configmap-apply-identical'])(
    '%s is denied with 503 and the reason',
    async (name) => {
      const response = await review(name);
      expect(response.allowed).toBe(false);
      expect(response.status?.code).toBe(503);
      expect(response.status?.reason).toBe('ServiceUnavailable');
      expect(response.status?.message).toMatch(
        /^bulwark is starting: policies not yet synced \(pending: .*ImagePolicy.*\); retry/,
      );
      expect(response.status?.details?.retryAfterSeconds).toBeGreaterThan(0);
    },
  );
});

describe('called by the apiserver before it is synced', () => {
  it('a write in a namespace it guards is refused with the reason, not admitted', async () => {
    ns = await newNamespace('unsynced');
    await kubectlOk(kubectl, ['apply', '-f', '-'], {
      input: stringify({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: CONFIGURATION },
        webhooks: [
          {
            name: 'unsynced.bulwark.dev',
            clientConfig: { url: `${base}/validate`, caBundle: Buffer.from(ca).toString('base64') },
            rules: [
              {
                apiGroups: [''],
                apiVersions: ['v1'],
                resources: ['configmaps'],
                operations: ['CREATE'],
                scope: 'Namespaced',
              },
            ],
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
            failurePolicy: 'Fail',
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            timeoutSeconds: 10,
          },
        ],
      }),
    });
    // Until the apiserver has loaded the configuration, the create goes through: retry with new names.
    let n = 0;
    const r = await retryUntil(
      () => kubectl(['create', 'configmap', `c${++n}`, '-n', ns], { user: 'alice' }),
      (result) => result.code !== 0,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'admission webhook "unsynced.bulwark.dev" denied the request: bulwark is starting: policies not yet ' +
        'synced (pending:',
    );
  });
});

describe('once the apiserver answers', () => {
  it('becomes ready and decides', async () => {
    await relay.up();
    await until('ready', async () => (await status('/readyz')) === 200, 45_000);
    expect((await review('configmap-create-labelled')).allowed).toBe(true);
    expect((await review('configmap-apply-changed')).status?.code).toBe(403);
    const created = await kubectl(['create', 'configmap', 'after-sync', '-n', ns], { user: 'alice' });
    expect(created.code, created.stderr).toBe(0);
  });
});

describe('when the policy watches break', () => {
  it('back within the resync grace: it stays ready and decides from its last state throughout', async () => {
    expect(await brokenWatches()).toEqual([]);
    const brokeAt = Date.now();
    await relay.down();
    await until('the broken watches are noticed', async () => (await brokenWatches()).length > 0, 2_000);
    // Within the grace: ready, and the last state decides (an allow and a lock's denial). A
    // labelled create would need the apiserver (its namespace's mark), and a pod spec other
    // tests' ImagePolicies: an update of an unlabelled ConfigMap needs neither.
    expect(await status('/readyz')).toBe(200);
    const unlabelled = await review('configmap-update-unlabelled');
    expect(unlabelled.allowed, unlabelled.status?.message).toBe(true);
    expect((await review('configmap-apply-changed')).status?.code).toBe(403);
    await relay.up();
    await until('every watch resumed', async () => (await brokenWatches()).length === 0, 15_000);
    // Had it been past the grace, the test below covers it; this one must not have been.
    expect(Date.now() - brokeAt).toBeLessThan(GRACE_SECONDS * 1000);
    expect(await status('/readyz')).toBe(200);
    expect((await review('configmap-create-labelled')).allowed).toBe(true);
  });

  it('down past the grace: unready, refusing everything with the reason, until it has re-synced', async () => {
    await relay.down();
    const brokeAt = Date.now();
    await until('unready', async () => (await status('/readyz')) === 503, 15_000);
    expect(Date.now() - brokeAt).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000 - 500);
    const response = await review('configmap-create-labelled');
    expect(response.allowed).toBe(false);
    expect(response.status?.code).toBe(503);
    expect(response.status?.message).toMatch(
      /^bulwark lost its watch on .*ImmutabilityPolicy.* and has not re-synced; it refuses every request/,
    );
    await relay.up();
    await until('ready again', async () => (await status('/readyz')) === 200, 45_000);
    expect(await brokenWatches()).toEqual([]);
    expect((await review('configmap-create-labelled')).allowed).toBe(true);
  });
});
