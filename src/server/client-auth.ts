// Optional mutual TLS: who may call /validate at all. With a client CA, the HTTPS server
// asks every client for a certificate and fails the handshake of one that presents none,
// or one the CA did not issue; the apiserver presents one through its admission
// configuration (a kubeconfig per webhook host, AdmissionConfiguration). The CA is read
// once at start: rotating it means a restart (a rollout), which its rarity allows.

import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { BaseError } from '../errors.ts';

export type ClientAuthOptions = Pick<TlsOptions, 'requestCert' | 'rejectUnauthorized'> &
  Pick<SecureContextOptions, 'ca'>;

export async function clientAuthOptions(clientCaFile: string | undefined): Promise<ClientAuthOptions> {
  if (clientCaFile === undefined) return {};
  let ca: string;
  try {
    ca = await readFile(clientCaFile, 'utf8');
    new X509Certificate(ca); // the first certificate at least must parse
  } catch (err) {
    throw new BaseError('TLS_LOAD_FAILED', `client CA ${clientCaFile} is not a readable PEM certificate`, {
      cause: err,
    });
  }
  return { requestCert: true, rejectUnauthorized: true, ca };
}
