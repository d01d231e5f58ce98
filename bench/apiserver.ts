// Through the apiserver: the latency a user sees for writes to ConfigMaps with Bulwark as
// the validating webhook, with no webhook at all, and with a ValidatingAdmissionPolicy
// doing the same lock check in the apiserver, interleaved request by request in one run
// (a local kube-apiserver from the harness, Bulwark registered by URL). A denied write
// (a locked ConfigMap's data changed) and an allowed one (an unlocked ConfigMap's data
// changed, stored in etcd) for each. Also records which protocols the apiserver offers a
// webhook by ALPN (HTTP/2 or HTTP/1.1), with a probe webhook that answers every review.
// Two more Bulwarks (`bulwark serve --cluster none` processes, alike but for --http2) for
// their own namespaces compare HTTP/2 with HTTP/1.1 in the same run; with
// BENCH_APISERVER_CONCURRENCY=N each write is sent N times at once (the apiserver then has
// N reviews in flight: one connection over HTTP/2, N over HTTP/1.1).
// Two floors split Bulwark's difference to the VAP into what any webhook costs the apiserver
// and what is Bulwark's own: a Node webhook that only parses the review and denies the
// object named "locked" (bench/noop-responder.ts lock, HTTP/1.1), and the same in Go
// (bench/noop-webhook/main.go, net/http, so HTTP/2: how Go webhooks are served), built here
// with the Go toolchain (left out, and said so, when `go` is not on the PATH).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:https';
import { join } from 'node:path';
import { startCluster } from '../harness/cluster.ts';
import { kubectlOk } from '../harness/kubectl.ts';
import { writeGeneratedCertificates } from '../src/server/certificate-files.ts';
import { pct } from './images.ts';
import { benchTempDir } from './temp.ts';
import { seededRandom } from '../test/helpers/fuzz-reviews.ts';
import { startServeProcess, type ServeProcess } from '../test/helpers/serve-process.ts';

const median = (values: number[]) =>
  pct(
    [...values].sort((a, b) => a - b),
    50,
  );

const ROUNDS = Number(process.env.BENCH_APISERVER_ROUNDS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_APISERVER_CONCURRENCY ?? 1);
const LOCK = 'bulwark.dev/immutable';
/** Namespaces with this label are left out of Bulwark's webhook for the baselines. */
const OFF = 'bench.bulwark.dev/webhook';

const ALL_SCENARIOS = ['bulwark', 'none', 'vap', 'serve-h2', 'serve-h1', 'node-noop', 'go-noop'] as const;
/** The serve processes' scenarios, and the --http2 value each runs with. */
const SERVED = { 'serve-h2': 'true', 'serve-h1': 'false' } as const;
type Scenario = (typeof ALL_SCENARIOS)[number];
/** The scenarios whose webhook the apiserver calls by URL, registered for their own namespace. */
type Registered = Exclude<Scenario, 'bulwark' | 'none' | 'vap'>;

const ROOT = join(import.meta.dirname, '..');

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Starts a floor webhook process and waits for its "ready PORT" line. */
function startFloor(command: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${command} did not print "ready PORT" within 20 s`)), 20_000);
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited with ${code}`)));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const ready = /^ready (\d+)$/m.exec(out);
      if (!ready) return;
      clearTimeout(timer);
      resolve({ child, port: Number(ready[1]) });
    });
  });
}

/** Builds the Go floor webhook; undefined (and why, on the console) when there is no Go toolchain. */
function buildGoFloor(dir: string): string | undefined {
  const out = join(dir, 'noop-webhook');
  const built = spawnSync('go', ['build', '-o', out, join(ROOT, 'bench', 'noop-webhook', 'main.go')], {
    encoding: 'utf8',
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  if (built.status === 0) return out;
  console.log(`   (no Go floor: go build failed: ${built.error?.message ?? built.stderr.trim()})`);
  return undefined;
}

const configMap = (namespace: string, name: string, locked: boolean) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels: locked ? { [LOCK]: 'true' } : {} },
  data: { color: 'blue' },
});

/** The lock of a labelled ConfigMap, as the apiserver's own CEL sees it: its data may not change. */
const lockPolicy = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicy',
  metadata: { name: 'bench-configmap-lock' },
  spec: {
    failurePolicy: 'Fail',
    matchConstraints: {
      resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['configmaps'] }],
    },
    validations: [
      {
        expression:
          `!has(oldObject.metadata.labels) || !('${LOCK}' in oldObject.metadata.labels) || ` +
          `oldObject.metadata.labels['${LOCK}'] != 'true' || object.data == oldObject.data`,
        message: 'the ConfigMap is locked',
        reason: 'Forbidden',
      },
    ],
  },
};

const lockBinding = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicyBinding',
  metadata: { name: 'bench-configmap-lock' },
  spec: {
    policyName: 'bench-configmap-lock',
    validationActions: ['Deny'],
    matchResources: { namespaceSelector: { matchLabels: { 'bench.bulwark.dev/vap': 'on' } } },
  },
};

/** A webhook that allows everything and records the ALPN protocols each TLS client offered. */
async function alpnProbe(): Promise<{ url: string; caPem: string; offered: string[][]; close(): void }> {
  const tls = await writeGeneratedCertificates(benchTempDir('bulwark-bench-alpn-'));
  const offered: string[][] = [];
  const server = createServer(
    {
      cert: readFileSync(tls.certFile),
      key: readFileSync(tls.keyFile),
      ALPNCallback: ({ protocols }) => {
        offered.push(protocols);
        return protocols.includes('http/1.1') ? 'http/1.1' : undefined;
      },
    },
    (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        const uid = (JSON.parse(body) as { request: { uid: string } }).request.uid;
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: { uid, allowed: true },
          }),
        );
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `https://127.0.0.1:${port}/validate`,
    caPem: readFileSync(tls.caFile, 'utf8'),
    offered,
    close: () => server.close(),
  };
}

export async function benchApiserver(): Promise<void> {
  console.log(
    '\n== Through kube-apiserver: ConfigMap writes with Bulwark, with no webhook, with a ValidatingAdmissionPolicy',
  );
  const cluster = await startCluster({});
  const probe = await alpnProbe();
  const served: ServeProcess[] = [];
  const floors: ChildProcess[] = [];
  try {
    const { kubectl } = cluster;
    // JSON, not YAML: kubectl reads YAML 1.1, where a label value such as off is a bool.
    const apply = (value: unknown) => kubectlOk(kubectl, ['apply', '-f', '-'], { input: JSON.stringify(value) });
    // The baselines' namespaces are left out of Bulwark's webhook (the harness's excludes kube-system only).
    await kubectlOk(kubectl, [
      'patch',
      'validatingwebhookconfiguration',
      'bulwark-e2e',
      '--type=json',
      '-p',
      JSON.stringify([
        {
          op: 'add',
          path: '/webhooks/0/namespaceSelector/matchExpressions/-',
          value: { key: OFF, operator: 'DoesNotExist' },
        },
      ]),
    ]);
    const webhooks: Partial<Record<Registered, { port: number; ca: string }>> = {};
    for (const [s, http2] of Object.entries(SERVED)) {
      const server = await startServeProcess(['--http2', http2, '--log-level', 'info']);
      served.push(server);
      webhooks[s as Registered] = server;
    }
    const floorDir = benchTempDir('bulwark-bench-floor-');
    const floorTls = await writeGeneratedCertificates(floorDir);
    const floorCa = readFileSync(floorTls.caFile, 'utf8');
    const nodeFloor = await startFloor(process.execPath, [
      'bench/noop-responder.ts',
      '0',
      floorTls.certFile,
      floorTls.keyFile,
      'lock',
    ]);
    floors.push(nodeFloor.child);
    webhooks['node-noop'] = { port: nodeFloor.port, ca: floorCa };
    const goBinary = buildGoFloor(floorDir);
    if (goBinary) {
      const goFloor = await startFloor(goBinary, [floorTls.certFile, floorTls.keyFile]);
      floors.push(goFloor.child);
      webhooks['go-noop'] = { port: goFloor.port, ca: floorCa };
    }
    const SCENARIOS = ALL_SCENARIOS.filter((s) => s !== 'go-noop' || webhooks['go-noop']);
    const OFF_LABEL = { [OFF]: 'off' };
    const labels: Record<Scenario, Record<string, string>> = {
      bulwark: {},
      none: OFF_LABEL,
      vap: { ...OFF_LABEL, 'bench.bulwark.dev/vap': 'on' },
      'serve-h2': OFF_LABEL,
      'serve-h1': OFF_LABEL,
      'node-noop': OFF_LABEL,
      'go-noop': OFF_LABEL,
    };
    for (const [s, webhook] of Object.entries(webhooks)) {
      await apply({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: `bench-${s}` },
        webhooks: [
          {
            name: `${s}.bench.bulwark.dev`,
            clientConfig: {
              url: `https://127.0.0.1:${webhook.port}/validate`,
              caBundle: Buffer.from(webhook.ca).toString('base64'),
            },
            rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['configmaps'] }],
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': `bench-${s}` } },
            failurePolicy: 'Fail',
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
          },
        ],
      });
    }
    for (const s of SCENARIOS) {
      await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `bench-${s}`, labels: labels[s] } });
      await apply(configMap(`bench-${s}`, 'locked', true));
      await apply(configMap(`bench-${s}`, 'open', false));
    }
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-alpn', labels: { [OFF]: 'off' } } });
    await apply({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'bench-alpn-probe' },
      webhooks: [
        {
          name: 'alpn-probe.bench.bulwark.dev',
          clientConfig: { url: probe.url, caBundle: Buffer.from(probe.caPem).toString('base64') },
          rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'bench-alpn' } },
          failurePolicy: 'Ignore',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
        },
      ],
    });
    await apply(lockPolicy);
    await apply(lockBinding);

    const ca = readFileSync(cluster.caFile, 'utf8');
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca });
    const { port } = new URL(cluster.server);
    const patch = (namespace: string, name: string, value: string): Promise<{ status: number; ms: number }> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ data: { color: value } });
        const started = process.hrtime.bigint();
        const req = request(
          {
            host: '127.0.0.1',
            port,
            agent,
            method: 'PATCH',
            path: `/api/v1/namespaces/${namespace}/configmaps/${name}`,
            headers: {
              authorization: `Bearer ${cluster.tokens.alice}`,
              'content-type': 'application/merge-patch+json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6 }),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    // The VAP and the webhook configurations are loaded asynchronously: wait until each denies.
    for (const s of SCENARIOS.filter((s) => s !== 'none')) {
      for (let i = 0; (await patch(`bench-${s}`, 'locked', `wait-${i}`)).status !== 403; i++) {
        if (i > 300) throw new Error(`the ${s} lock did not deny within 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await apply(configMap('bench-alpn', `probe-${Date.now()}`, false));

    // 20 warm-up rounds first (connections, caches), not counted.
    const times: Record<string, number[]> = Object.fromEntries(
      SCENARIOS.flatMap((s) => [`${s} denied`, `${s} allowed`]).map((key) => [key, []]),
    );
    /** Per scenario and operation, each counted round's median write (for paired differences). */
    const WRITES = SCENARIOS.flatMap((s) => (['denied', 'allowed'] as const).map((op) => [s, op] as const));
    const random = seededRandom(19);
    const byRound: Record<string, number[]> = Object.fromEntries(Object.keys(times).map((key) => [key, []]));
    for (let round = -20; round < ROUNDS; round++) {
      // Each round runs the writes in another order (a shuffle of every scenario and operation),
      // so that none always follows the same one: a write right after one that was stored in
      // etcd was seen to be slower than one after a denial, which favoured whatever came second.
      for (const [s, op] of shuffled(WRITES, random)) {
        // Without a lock (no webhook) the "denied" write is stored: it is the same write, uncontested.
        const name = op === 'denied' ? 'locked' : 'open';
        const sent = Array.from({ length: CONCURRENCY }, (_, i) => patch(`bench-${s}`, name, `v${round}-${op}-${i}`));
        const expected = op === 'denied' && s !== 'none' ? 403 : 200;
        const results = await Promise.all(sent);
        for (const r of results) {
          if (r.status !== expected) throw new Error(`${s} ${op}: HTTP ${r.status}, expected ${expected}`);
          if (round >= 0) times[`${s} ${op}`]!.push(r.ms);
        }
        if (round >= 0) byRound[`${s} ${op}`]!.push(median(results.map((r) => r.ms)));
      }
    }
    agent.destroy();
    const stat = (key: string) => {
      const sorted = times[key]!.sort((a, b) => a - b);
      return { p50: pct(sorted, 50), p99: pct(sorted, 99) };
    };
    const NAMES: Record<Scenario, string> = {
      none: 'no webhook',
      vap: 'ValidatingAdmissionPolicy',
      bulwark: 'Bulwark (harness, --http2=true)',
      'serve-h2': 'bulwark serve, --http2=true',
      'serve-h1': 'bulwark serve, HTTP/1.1 (default)',
      'node-noop': 'floor: Node parse-and-answer, HTTP/1.1',
      'go-noop': 'floor: Go net/http parse-and-answer, h2',
    };
    for (const op of ['denied', 'allowed'] as const) {
      // A round's writes run within tens of milliseconds: their difference leaves out the drifts
      // of the machine that move a whole run's p50 (the VAP's own p50 moved 1.6 ms between runs).
      const paired = (s: Scenario, base: Scenario) =>
        median(byRound[`${s} ${op}`]!.map((ms, i) => ms - byRound[`${base} ${op}`]![i]!)).toFixed(2);
      for (const s of SCENARIOS) {
        const r = stat(`${s} ${op}`);
        console.log(
          `   ${`${op} PATCH, ${NAMES[s]}`.padEnd(58)} p50 ${r.p50.toFixed(2).padStart(6)} ms   ` +
            `p99 ${r.p99.toFixed(2).padStart(6)} ms   paired - VAP ${paired(s, 'vap').padStart(6)} ms`,
        );
      }
      const bulwark = stat(`bulwark ${op}`);
      const vap = stat(`vap ${op}`);
      const none = stat(`none ${op}`);
      console.log(
        `   ${op}: Bulwark - VAP p50 ${(bulwark.p50 - vap.p50).toFixed(2)} ms, paired ${paired('bulwark', 'vap')} ` +
          `ms (goal <= 0.5 ms); p99 ${(bulwark.p99 - vap.p99).toFixed(2)} ms; ratios p50 Bulwark/VAP ` +
          `${(bulwark.p50 / vap.p50).toFixed(2)}, Bulwark/none ${(bulwark.p50 / none.p50).toFixed(2)}, ` +
          `VAP/none ${(vap.p50 / none.p50).toFixed(2)}`,
      );
      // The split: what calling any webhook costs the apiserver (a floor - VAP), and what is
      // Bulwark's own (a serve process - the floor of its protocol, paired in the same rounds).
      const go = SCENARIOS.includes('go-noop');
      console.log(
        `   ${op}: split (paired): any webhook's floor - VAP: Node HTTP/1.1 ${paired('node-noop', 'vap')} ms` +
          (go ? `, Go h2 ${paired('go-noop', 'vap')} ms` : '') +
          `; Bulwark's own: serve HTTP/1.1 - Node floor ${paired('serve-h1', 'node-noop')} ms` +
          (go ? `, serve h2 - Go floor ${paired('serve-h2', 'go-noop')} ms` : ''),
      );
    }
    // Bulwark's own time per denial, as it logs it (from the first byte of the body to the
    // verdict): called by the apiserver between other work, the code runs cold (2-3 times
    // its time in a loop of back-to-back reviews: `BENCH_ONLY=cold`).
    for (const [i, server] of served.entries()) {
      const ms = server.lines.map((l) => l.ms).filter((v): v is number => typeof v === 'number');
      console.log(
        `   ${NAMES[Object.keys(SERVED)[i] as Scenario]}: median ${median(ms).toFixed(3)} ms in its handler ` +
          `per denial (its own log, ${ms.length} denials)`,
      );
    }
    const protocols = [...new Set(probe.offered.map((p) => p.join(',')))];
    console.log(
      `   ${ROUNDS} interleaved rounds of ${CONCURRENCY} concurrent writes each. ` +
        `ALPN protocols kube-apiserver offers a webhook: ` +
        `${protocols.join(' | ') || '(none: HTTP/1.1)'} ` +
        '(Bulwark takes h2 only with --http2=true; the harness Bulwark, "Bulwark" above, runs with it)',
    );
  } finally {
    probe.close();
    for (const floor of floors) floor.kill('SIGTERM');
    await Promise.all(served.map((s) => s.stop()));
    await cluster.stop();
  }
}

if (import.meta.filename === process.argv[1]) await benchApiserver();
