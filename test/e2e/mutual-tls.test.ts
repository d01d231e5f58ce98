// Optional mutual TLS (`bulwark serve --client-ca`): only clients holding a certificate of
// that CA get past the handshake. The apiserver presents one through its admission
// configuration (the harness starts it with --admission-control-config-file, a kubeconfig
// whose user `*` has the webhook client certificate: harness/webhook-client.ts). A second
// Bulwark requiring it is registered for this file's namespace, with its own lock label so
// the harness's Bulwark stays out of the way: the apiserver's calls pass (it denies a
// change of a locked ConfigMap), a plain client gets a TLS error.

import { mkdtemp } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2eCluster, kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { writeClientCert } from '../../harness/node/client-cert.ts';
import { WEBHOOK_CLIENT_CA } from '../../harness/webhook-client.ts';
import { loadReview } from '../helpers/fixtures.ts';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.ts';

const LABEL = { key: 'e2e.bulwark.dev/mtls-locked', value: 'true' };
const WEBHOOK = 'mtls.e2e.bulwark.dev';
const CONFIGURATION = 'bulwark-e2e-mtls';

let server: ServeProcess;
let ns: string;

beforeAll(async () => {
  const clientCa = join(e2eCluster().dir, WEBHOOK_CLIENT_CA);
  server = await startServeProcess(['--client-ca', clientCa, '--label-key', LABEL.key, '--label-value', LABEL.value]);
  ns = await newNamespace('mtls');
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: CONFIGURATION },
      webhooks: [
        {
          name: WEBHOOK,
          rules: [
            {
              apiGroups: [''],
              apiVersions: ['v1'],
              resources: ['configmaps'],
              operations: ['UPDATE', 'DELETE'],
              scope: 'Namespaced',
            },
          ],
          objectSelector: { matchLabels: { [LABEL.key]: LABEL.value } },
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
          clientConfig: {
            url: `https://127.0.0.1:${server.port}/validate`,
            caBundle: Buffer.from(server.ca).toString('base64'),
          },
          failurePolicy: 'Fail',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          timeoutSeconds: 10,
        },
      ],
    }),
  });
}, 60_000);

afterAll(async () => {
  await kubectl(['delete', 'validatingwebhookconfiguration', CONFIGURATION, '--ignore-not-found']);
  await server?.stop();
});

/** POSTs a review to the second Bulwark with these TLS client credentials; resolves the status or the error. */
function post(credentials: { cert?: string; key?: string }): Promise<string> {
  const body = JSON.stringify(loadReview('configmap-apply-changed'));
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        ca: server.ca,
        servername: 'localhost',
        method: 'POST',
        path: '/validate',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        ...credentials,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(`HTTP ${res.statusCode}`));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`${err.code ?? ''} ${err.message}`));
    req.end(body);
  });
}

describe('mutual TLS between the apiserver and Bulwark', () => {
  it('the apiserver presents its client certificate: its reviews are decided (a locked ConfigMap stays)', async () => {
    await kubectlOk(kubectl, ['create', 'configmap', 'cfg', '-n', ns, '--from-literal=color=blue']);
    await kubectlOk(kubectl, ['label', 'configmap', 'cfg', '-n', ns, `${LABEL.key}=${LABEL.value}`]);
    // The apiserver loads webhook configurations asynchronously: retry until this one is in force.
    let change = await kubectl(['patch', 'configmap', 'cfg', '-n', ns, '-p', '{"data":{"color":"red"}}']);
    for (let i = 0; i < 50 && change.code === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      change = await kubectl(['patch', 'configmap', 'cfg', '-n', ns, '-p', `{"data":{"color":"red-${i}"}}`]);
    }
    expect(change.stderr).toContain(`admission webhook "${WEBHOOK}" denied the request`);
    expect(change.stderr).not.toContain('failed calling webhook');
    expect(server.lines.some((l) => String(l.msg).includes('tls') && l.level === 'error')).toBe(false);
  });

  it('a plain client, without a certificate, gets a TLS error and no answer', async () => {
    const outcome = await post({});
    expect(outcome).not.toMatch(/^HTTP/);
    expect(outcome).toMatch(/certificate required|ECONNRESET|socket hang up|EPIPE/i);
  });

  it('a client with another CA`s certificate gets a TLS error; the apiserver`s certificate is answered', async () => {
    const other = await writeClientCert(await mkdtemp(join(tmpdir(), 'bulwark-mtls-')), 'other', 'CN=intruder');
    const stranger = await post({
      cert: await readFile(other.certFile, 'utf8'),
      key: await readFile(other.keyFile, 'utf8'),
    });
    expect(stranger).not.toMatch(/^HTTP/);
    expect(stranger).toMatch(/unknown ca|ECONNRESET|socket hang up|EPIPE/i);
    const dir = e2eCluster().dir;
    const apiserver = await post({
      cert: await readFile(join(dir, 'webhook-client.crt'), 'utf8'),
      key: await readFile(join(dir, 'webhook-client.key'), 'utf8'),
    });
    expect(apiserver).toBe('HTTP 200');
  });
});
