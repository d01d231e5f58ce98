// A stand-in for Fulcio and a CT log, for tests: a local root CA that issues short-lived
// code-signing certificates carrying Fulcio's identity extensions (the OIDC issuer in
// 1.3.6.1.4.1.57264.1.1 and .8, the subject as an email or URI SAN) and an embedded SCT
// signed by a local CT-log key over the precertificate, as RFC 6962 has it. What is real:
// the certificate and SCT formats, which the sigstore libraries verify as they would
// public-good Sigstore's. What is a stand-in: who issues them (no OIDC login, no CT log
// server; the keys live in this process).

import { createHash, generateKeyPairSync, sign, webcrypto, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate as SigstoreCertificate } from '@sigstore/core';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const subtle = webcrypto.subtle;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const OID_SCT = '1.3.6.1.4.1.11129.2.4.2';
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

export interface LogKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  spki: Buffer;
  /** SHA-256 of the SPKI DER: the log's id in SCTs, tlog entries and the trusted root. */
  logId: Buffer;
}

export function newLogKey(): LogKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return { privateKey, publicKey, spki, logId: createHash('sha256').update(spki).digest() };
}

/** DER length prefix. */
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const der = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

export interface Identity {
  issuer: string;
  /** An email address, or a URI (a workflow) when it has a scheme. */
  subject: string;
}

export interface IssueOptions {
  /** The signer's public key (cosign.pub PEM). */
  publicKeyPem: string;
  identity: Identity;
  notBefore?: Date;
  notAfter?: Date;
  /** Leave out the SCT (a certificate no CT log saw). */
  withoutSct?: boolean;
}

export interface FulcioStandIn {
  rootPem: string;
  rootDer: Buffer;
  ct: LogKey;
  issue(options: IssueOptions): Promise<string>;
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

export async function startFulcio(name = 'fulcio.standin.test'): Promise<FulcioStandIn> {
  const rootKeys = (await subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name} root,O=bulwark tests`,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 365 * 86_400_000),
    keys: rootKeys,
    signingAlgorithm: ECDSA,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const rootDer = Buffer.from(root.rawData);
  const ct = newLogKey();
  let serial = 0x1000;

  async function issue(options: IssueOptions): Promise<string> {
    const spki = pemToDer(options.publicKeyPem);
    const publicKey = await subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
    const subject = options.identity.subject;
    const san = /^[a-z][a-z0-9+.-]*:\/\//i.test(subject)
      ? { type: 'url', value: subject }
      : { type: 'email', value: subject };
    const base = {
      serialNumber: (serial++).toString(16),
      subject: '',
      issuer: root.subject,
      notBefore: options.notBefore ?? new Date(Date.now() - 60_000),
      notAfter: options.notAfter ?? new Date(Date.now() + 10 * 60_000),
      publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm: ECDSA,
    };
    const extensions = [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([CODE_SIGNING]),
      new x509.SubjectAlternativeNameExtension([san as x509.JsonGeneralName], true),
      new x509.Extension(OID_ISSUER_V1, false, Buffer.from(options.identity.issuer)),
      new x509.Extension(OID_ISSUER_V2, false, der(0x0c, Buffer.from(options.identity.issuer))),
    ];
    if (options.withoutSct)
      return (await x509.X509CertificateGenerator.create({ ...base, extensions })).toString('pem');
    // The SCT signs the precertificate: the TBS without the SCT extension. Issue once with a
    // placeholder, let the verifying library strip it as it will, and sign what remains.
    const sctExtension = (list: Buffer) => new x509.Extension(OID_SCT, false, der(0x04, list));
    const draft = await x509.X509CertificateGenerator.create({
      ...base,
      extensions: [...extensions, sctExtension(Buffer.alloc(2))],
    });
    const parsed = SigstoreCertificate.parse(Buffer.from(draft.rawData)).clone();
    const at = parsed.extensions.findIndex((e) => e.subs[0]!.toOID() === OID_SCT);
    parsed.extensions.splice(at, 1);
    const tbs = parsed.tbsCertificate.toDER();
    const timestamp = Buffer.alloc(8);
    timestamp.writeBigUInt64BE(BigInt(Date.now()));
    const issuerKeyHash = createHash('sha256').update(Buffer.from(root.publicKey.rawData)).digest();
    const tbsLength = Buffer.from([tbs.length >> 16, (tbs.length >> 8) & 0xff, tbs.length & 0xff]);
    const signed = Buffer.concat([
      Buffer.from([0, 0]), // v1, certificate_timestamp
      timestamp,
      u16(1), // precert_entry
      issuerKeyHash,
      tbsLength,
      tbs,
      u16(0), // no extensions
    ]);
    const signature = sign('sha256', signed, ct.privateKey);
    const sct = Buffer.concat([
      Buffer.from([0]),
      ct.logId,
      timestamp,
      u16(0),
      Buffer.from([4, 3]),
      u16(signature.length),
      signature,
    ]);
    const list = Buffer.concat([u16(sct.length + 2), u16(sct.length), sct]);
    const cert = await x509.X509CertificateGenerator.create({
      ...base,
      extensions: [...extensions, sctExtension(list)],
    });
    return cert.toString('pem');
  }

  return { rootPem: root.toString('pem'), rootDer, ct, issue };
}
