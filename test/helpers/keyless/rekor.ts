// A stand-in for Rekor, for tests: an append-only log in memory whose entries carry what
// public-good Rekor (v1) returns: the canonicalized entry body (dsse or hashedrekord
// kinds), a signed entry timestamp (SET) over {body, integratedTime, logIndex, logID},
// and an RFC 6962 inclusion proof up to a checkpoint signed as a transparency-dev signed
// note. It runs no server: tests call `log` with what cosign signed and put the entry
// where cosign would have (a sigstore bundle's tlogEntries, or the legacy
// dev.sigstore.cosign/bundle annotation).

import { createHash, sign } from 'node:crypto';
import { json } from '@sigstore/core';
import { newLogKey, type LogKey } from './fulcio.ts';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();
const leafHash = (body: Buffer) => sha256(Buffer.concat([Buffer.from([0]), body]));
const nodeHash = (l: Buffer, r: Buffer) => sha256(Buffer.concat([Buffer.from([1]), l, r]));

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function treeHash(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  const k = largestPowerOfTwoBelow(leaves.length);
  return nodeHash(treeHash(leaves.slice(0, k)), treeHash(leaves.slice(k)));
}

/** RFC 6962 PATH(m, D[n]), lowest level first. */
function inclusionPath(m: number, leaves: readonly Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = largestPowerOfTwoBelow(leaves.length);
  return m < k
    ? [...inclusionPath(m, leaves.slice(0, k)), treeHash(leaves.slice(k))]
    : [...inclusionPath(m - k, leaves.slice(k)), treeHash(leaves.slice(0, k))];
}

export interface DsseEnvelopeJson {
  payloadType: string;
  payload: string;
  signatures: { sig: string; keyid?: string }[];
}

/** Rekor's dsse v0.0.1 body for an envelope signed with `certPem`'s key. */
export function dsseBody(envelope: DsseEnvelopeJson, certPem: string): object {
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(json.canonicalize(envelope)).toString('hex') },
      payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')).toString('hex') },
      signatures: envelope.signatures.map((s) => ({
        signature: s.sig,
        verifier: Buffer.from(certPem).toString('base64'),
      })),
    },
  };
}

/** Rekor's hashedrekord v0.0.1 body for a signature (base64) over `payload`. */
export function hashedRekordBody(payload: Buffer, signature: string, certPem: string): object {
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: sha256(payload).toString('hex') } },
      signature: { content: signature, publicKey: { content: Buffer.from(certPem).toString('base64') } },
    },
  };
}

export interface LoggedEntry {
  /** A sigstore bundle's TransparencyLogEntry (JSON), with SET and inclusion proof. */
  bundleEntry: Record<string, unknown>;
  /** cosign's legacy `dev.sigstore.cosign/bundle` annotation value (the SET only). */
  legacyAnnotation: string;
}

export interface RekorStandIn {
  key: LogKey;
  baseUrl: string;
  /** Appends `body` (integrated now, or at `integratedTime`, seconds) and returns what cosign would store. */
  log(body: object, integratedTime?: number): LoggedEntry;
}

export function startRekor(host = 'rekor.standin.test'): RekorStandIn {
  const key = newLogKey();
  const leaves: Buffer[] = [];
  const origin = `${host} - 1193050959916656506`;

  function log(body: object, integratedTime = Math.floor(Date.now() / 1000)): LoggedEntry {
    const canonical = Buffer.from(json.canonicalize(body));
    const logIndex = leaves.length;
    leaves.push(leafHash(canonical));
    const { kind, apiVersion } = body as { kind: string; apiVersion: string };
    const logID = key.logId.toString('hex');
    const payload = { body: canonical.toString('base64'), integratedTime, logIndex, logID };
    const set = sign('sha256', Buffer.from(json.canonicalize(payload)), key.privateKey);
    const root = treeHash(leaves);
    const note = `${origin}\n${leaves.length}\n${root.toString('base64')}\n`;
    const noteSignature = Buffer.concat([key.logId.subarray(0, 4), sign('sha256', Buffer.from(note), key.privateKey)]);
    return {
      bundleEntry: {
        logIndex: String(logIndex),
        logId: { keyId: key.logId.toString('base64') },
        kindVersion: { kind, version: apiVersion },
        integratedTime: String(integratedTime),
        inclusionPromise: { signedEntryTimestamp: set.toString('base64') },
        inclusionProof: {
          logIndex: String(logIndex),
          rootHash: root.toString('base64'),
          treeSize: String(leaves.length),
          hashes: inclusionPath(logIndex, leaves).map((h) => h.toString('base64')),
          checkpoint: { envelope: `${note}\n\u2014 ${host} ${noteSignature.toString('base64')}\n` },
        },
        canonicalizedBody: canonical.toString('base64'),
      },
      legacyAnnotation: JSON.stringify({ SignedEntryTimestamp: set.toString('base64'), Payload: payload }),
    };
  }

  return { key, baseUrl: `https://${host}`, log };
}
