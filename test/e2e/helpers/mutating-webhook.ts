// Someone else's mutating admission webhook, served from the test process: the apiserver
// calls it by URL before any validating webhook, and it rewrites what it is sent. Used to
// show that Bulwark judges the object as mutated, not as the client sent it.

import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateCertificates } from '../../../src/server/certificates.ts';

export interface MutatingWebhook {
  url: string;
  caBundle: string;
  /** How many reviews it answered. */
  calls(): number;
  close(): Promise<void>;
}

/** Serves AdmissionReviews, answering each with the JSON Patch `patch` returns for its object (none: no patch). */
export async function startMutatingWebhook(
  patch: (object: Record<string, unknown>) => unknown[] | undefined,
): Promise<MutatingWebhook> {
  const tls = await generateCertificates({
    ipAddresses: ['127.0.0.1'],
    commonName: 'someone-elses-webhook',
    validDays: 1,
  });
  let calls = 0;
  const server: Server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls += 1;
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        request: { uid: string; object: Record<string, unknown> };
      };
      const ops = patch(review.request.object);
      const response = {
        uid: review.request.uid,
        allowed: true,
        ...(ops ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') } : {}),
      };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/mutate`,
    caBundle: Buffer.from(tls.caCertPem).toString('base64'),
    calls: () => calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
