// The outgoing notification webhook (issue 17) against a real local HTTP receiver: a second
// Bulwark, sharing the harness Bulwark's attestation keys (copied into its own namespace, where
// it also holds its own Lease), is started with --notify-url and --notify-secret. An unlock
// requested and approved by the real users reaches the receiver as JSON POSTs, one per
// transition, with the bearer token and an HMAC signature the receiver can check; the receiver
// answering 503 at first is retried with backoff, and admission never waits for any of it.
// Meanwhile the test holds the harness Bulwark's Lease, so that the second Bulwark alone sees
// (and announces) the transitions: with two status writers, whoever writes a phase first owns it.

import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { httpsRequest } from '../helpers/https.ts';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.ts';
import { e2eCluster, kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { BULWARK_NAMESPACE } from '../../harness/registration.ts';
import { until } from './helpers/plugin.ts';
import { approvablePolicy, approvedUnlock, createLockedConfigMap } from './helpers/unlock.ts';

const TOKEN = 'e2e-bearer-token';
const HMAC_KEY = 'e2e-hmac-key';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

let ns: string;
let home: string;
let receiver: Server;
let bulwark: ServeProcess | undefined;
const received: Received[] = [];
/** How many requests the receiver refuses with 503 before it accepts. */
let refuseFirst = 1;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answered = refuseFirst > 0 ? 503 : 200;
      refuseFirst -= 1;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;

  ns = await newNamespace('notify');
  home = await newNamespace('notify-home');
  // The same attestation keys as the harness Bulwark, which stamps the approvals.
  const keys = JSON.parse(
    await kubectlOk(kubectl, ['get', 'secret', 'bulwark-attestation-keys', '-n', BULWARK_NAMESPACE, '-o', 'json']),
  ) as { data: Record<string, string> };
  await kubectlOk(kubectl, ['create', '-f', '-'], {
    input: stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bulwark-attestation-keys', namespace: home },
      data: keys.data,
    }),
  });
  await kubectlOk(kubectl, [
    'create',
    'secret',
    'generic',
    'hook',
    '-n',
    home,
    `--from-literal=token=${TOKEN}`,
    `--from-literal=hmac-key=${HMAC_KEY}`,
  ]);
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: stringify(parse(approvablePolicy(`notify-${ns}`, { namespaces: [ns] }))),
  });
  // Read, modify, replace: the holder renews every 5 s, so a replace may meet a conflict; again then.
  await until(async () => {
    const lease = JSON.parse(
      await kubectlOk(kubectl, ['get', 'lease', 'bulwark-controllers', '-n', BULWARK_NAMESPACE, '-o', 'json']),
    ) as { spec: Record<string, unknown> };
    lease.spec = { ...lease.spec, holderIdentity: 'e2e-notifications', leaseDurationSeconds: 3600 };
    lease.spec.renewTime = new Date().toISOString().replace('Z', '000Z');
    return (await kubectl(['replace', '-f', '-'], { input: JSON.stringify(lease) })).code === 0;
  }, 30_000);
  bulwark = await startServeProcess([
    '--cluster',
    'required',
    '--kubeconfig',
    e2eCluster().kubeconfig,
    '--namespace',
    home,
    '--audit-interval',
    '0',
    '--notify-url',
    `http://127.0.0.1:${port}/hook`,
    '--notify-secret',
    'hook',
  ]);
}, 120_000);

afterAll(async () => {
  // The harness Bulwark takes the Lease again (it creates it afresh).
  await kubectl(['delete', 'lease', 'bulwark-controllers', '-n', BULWARK_NAMESPACE]);
  await bulwark?.stop();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

const payloads = (name: string) =>
  received
    .filter((r) => r.answered === 200)
    .map((r) => ({ ...r, json: JSON.parse(r.body) as Record<string, unknown> }))
    .filter((r) => (r.json.unlockRequest as { name: string }).name === name);

describe('the outgoing notification webhook', () => {
  it('POSTs each transition as JSON, with the bearer token and a signature the receiver can check', async () => {
    // The harness Bulwark renews every 5 s: by now it knows it no longer leads.
    await new Promise((r) => setTimeout(r, 8_000));
    await createLockedConfigMap(ns, 'cfg');
    const name = await approvedUnlock({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'cfg' }, ['UPDATE']);
    // Admission did not wait: the approvals are stored while deliveries may still be retrying.
    await until(async () => payloads(name).some((p) => p.json.phase === 'Approved'), 90_000);
    const approved = payloads(name).find((p) => p.json.phase === 'Approved')!;
    expect(approved.json).toMatchObject({
      kind: 'UnlockRequestTransition',
      reason: 'UnlockApproved',
      requester: 'alice',
      approvals: '2/2',
      target: { kind: 'ConfigMap', namespace: ns, name: 'cfg' },
      operations: ['UPDATE'],
    });
    expect(approved.headers['content-type']).toBe('application/json');
    expect(approved.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const timestamp = approved.headers['x-bulwark-timestamp'] as string;
    const expected = createHmac('sha256', HMAC_KEY).update(`${timestamp}.${approved.body}`).digest('hex');
    expect(approved.headers['x-bulwark-signature']).toBe(`v1=${expected}`);
    expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(300);
  }, 180_000);

  it('retries what the receiver refused, and counts every outcome in a metric', async () => {
    const refused = received.find((r) => r.answered === 503)!;
    expect(refused).toBeDefined();
    // The refused body came again and was accepted.
    expect(received.some((r) => r.answered === 200 && r.body === refused.body)).toBe(true);
    const metrics = await httpsRequest(`https://127.0.0.1:${bulwark!.port}/metrics`, { ca: bulwark!.ca });
    expect(metrics.body).toMatch(/bulwark_notifications_total\{outcome="retried"\} [1-9]/);
    expect(metrics.body).toMatch(/bulwark_notifications_total\{outcome="delivered"\} [1-9]/);
  });
});
