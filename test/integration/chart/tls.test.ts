// The three TLS modes: the serving certificate the pods mount and the caBundle the
// apiserver trusts must always belong together.

import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateCertificates } from '../../../src/server/certificates.ts';
import { dig, find, kinds, render, template, type Manifest } from './helm.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

function caBundles(manifests: Manifest[]): (string | undefined)[] {
  return (
    dig(find(manifests, 'ValidatingWebhookConfiguration'), 'webhooks') as { clientConfig: { caBundle?: string } }[]
  ).map((w) => w.clientConfig.caBundle);
}

function mountedSecret(manifests: Manifest[]): string {
  const volumes = dig(find(manifests, 'Deployment'), 'spec', 'template', 'spec', 'volumes') as {
    name: string;
    secret?: { secretName: string };
  }[];
  return volumes.find((v) => v.name === 'tls')?.secret?.secretName ?? '';
}

describe('tls.mode=generate (default)', async () => {
  const manifests = await render({ tls: { extraDnsNames: ['localhost'] } });
  const secret = find(manifests, 'Secret', 'bulwark-tls');
  const data = secret.data as Record<string, string>;
  const ca = new X509Certificate(unb64(data['ca.crt'] ?? ''));
  const cert = new X509Certificate(unb64(data['tls.crt'] ?? ''));

  it('stores a CA and a serving certificate it signed, in the Secret the pods mount', () => {
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(mountedSecret(manifests)).toBe('bulwark-tls');
    expect(ca.ca).toBe(true);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    const publicFromKey = createPublicKey(createPrivateKey(unb64(data['tls.key'] ?? ''))).export({
      type: 'spki',
      format: 'pem',
    });
    expect(cert.publicKey.export({ type: 'spki', format: 'pem' })).toBe(publicFromKey);
  });

  it('names the Service as the apiserver calls it, plus tls.extraDnsNames', () => {
    const names = (cert.subjectAltName ?? '').split(', ').map((n) => n.replace(/^DNS:/, ''));
    expect(names).toEqual([
      'bulwark',
      'bulwark.bulwark-system',
      'bulwark.bulwark-system.svc',
      'bulwark.bulwark-system.svc.cluster.local',
      'localhost',
    ]);
  });

  it('puts the same CA in every webhook entry', () => {
    expect(new Set(caBundles(manifests))).toEqual(new Set([data['ca.crt']]));
  });

  it('makes a new CA on every `helm template` (no cluster to look the old one up in)', async () => {
    const again = find(await render(), 'Secret', 'bulwark-tls').data as Record<string, string>;
    expect(again['ca.crt']).not.toBe(data['ca.crt']);
  });
});

describe('tls.mode=certManager', () => {
  it('lets cert-manager issue from a chart-made CA and inject it into the webhook configuration', async () => {
    const manifests = await render({ tls: { mode: 'certManager' } });
    expect(kinds(manifests).filter((k) => k === 'Certificate' || k === 'Issuer')).toEqual([
      'Certificate',
      'Certificate',
      'Issuer',
      'Issuer',
    ]);
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    const serving = find(manifests, 'Certificate', 'bulwark-serving');
    expect(dig(serving, 'spec', 'secretName')).toBe('bulwark-tls');
    expect(dig(serving, 'spec', 'dnsNames')).toContain('bulwark.bulwark-system.svc');
    expect(dig(serving, 'spec', 'issuerRef')).toEqual({ name: 'bulwark-ca', kind: 'Issuer', group: 'cert-manager.io' });
    expect(dig(find(manifests, 'Certificate', 'bulwark-ca'), 'spec', 'isCA')).toBe(true);
    expect(dig(find(manifests, 'Issuer', 'bulwark-ca'), 'spec', 'ca', 'secretName')).toBe('bulwark-ca');
    const vwc = find(manifests, 'ValidatingWebhookConfiguration');
    expect(vwc.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe('bulwark-system/bulwark-serving');
    expect(caBundles(manifests).every((b) => b === undefined)).toBe(true);
    expect(mountedSecret(manifests)).toBe('bulwark-tls');
  });

  it('uses a given issuer instead of making a CA', async () => {
    const manifests = await render({
      tls: { mode: 'certManager', certManager: { issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer' } } },
    });
    expect(kinds(manifests).filter((k) => k === 'Certificate' || k === 'Issuer')).toEqual(['Certificate']);
    expect(dig(find(manifests, 'Certificate'), 'spec', 'issuerRef')).toEqual({
      name: 'corp-ca',
      kind: 'ClusterIssuer',
      group: 'cert-manager.io',
    });
  });
});

describe('tls.mode=secret', async () => {
  const { caCertPem } = await generateCertificates({
    dnsNames: ['bulwark.bulwark-system.svc'],
    ipAddresses: [],
    commonName: 'test',
    validDays: 1,
  });

  it('mounts the named Secret and trusts the given CA', async () => {
    const manifests = await render({ tls: { mode: 'secret', secret: { name: 'my-tls', caBundle: caCertPem } } });
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    expect(mountedSecret(manifests)).toBe('my-tls');
    expect(new Set(caBundles(manifests))).toEqual(new Set([b64(caCertPem)]));
  });

  it('needs the Secret name only when Bulwark runs in the cluster', async () => {
    const missing = await template({ tls: { mode: 'secret', secret: { caBundle: caCertPem } } });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('tls.secret.name is required');
    const external = await render({
      tls: { mode: 'secret', secret: { caBundle: caCertPem } },
      deployment: { enabled: false },
      webhook: { url: 'https://127.0.0.1:8443/validate' },
    });
    expect(new Set(caBundles(external))).toEqual(new Set([b64(caCertPem)]));
  });
});
