// Keyless signing with the real cosign v3, offline, against the stand-ins of
// test/helpers/keyless: the Fulcio stand-in issues the signer a short-lived certificate
// for its cosign key (with the identity and an SCT), cosign signs with that certificate
// (`--certificate --certificate-chain --tlog-upload=false`, in either format), and the
// Rekor stand-in logs the signature: its entry (SET and inclusion proof) is written where
// cosign would have written Rekor's answer (a bundle's tlogEntries; the legacy
// dev.sigstore.cosign/bundle annotation). Real: cosign's signatures, certificates in
// Fulcio's format, the storage formats. Stand-ins: the CA, the CT log and the log.

import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { startFulcio, type FulcioStandIn, type Identity, type IssueOptions } from '../../helpers/keyless/fulcio.ts';
import { dsseBody, hashedRekordBody, startRekor, type RekorStandIn } from '../../helpers/keyless/rekor.ts';
import { trustedRootJson } from '../../helpers/keyless/trusted-root.ts';
import {
  generateKeyPair,
  getBlob,
  getManifestJson,
  putBlob,
  putManifest,
  sha256Digest,
  type KeyPair,
  type RegistryTools,
  type SignatureFormat,
} from './registry.ts';

const run = promisify(execFile);

export interface SigstoreStandIn {
  fulcio: FulcioStandIn;
  rekor: RekorStandIn;
  /** trusted_root.json for the stand-ins, as a ConfigMap would hold it. */
  trustedRoot: string;
}

export async function startSigstoreStandIn(): Promise<SigstoreStandIn> {
  const fulcio = await startFulcio();
  const rekor = startRekor();
  return { fulcio, rekor, trustedRoot: trustedRootJson(fulcio, rekor) };
}

export interface KeylessSigner {
  key: KeyPair;
  identity: Identity;
  certPem: string;
  certFile: string;
  chainFile: string;
}

/** A cosign key pair and a certificate for it from the Fulcio stand-in. */
export async function keylessSigner(
  tools: RegistryTools,
  sigstore: SigstoreStandIn,
  dir: string,
  identity: Identity,
  options: Omit<IssueOptions, 'publicKeyPem' | 'identity'> = {},
): Promise<KeylessSigner> {
  const key = await generateKeyPair(tools, dir);
  const certPem = await sigstore.fulcio.issue({ ...options, publicKeyPem: key.publicKeyPem, identity });
  mkdirSync(dir, { recursive: true });
  const certFile = join(dir, 'cert.pem');
  const chainFile = join(dir, 'chain.pem');
  writeFileSync(certFile, certPem);
  writeFileSync(chainFile, sigstore.fulcio.rootPem);
  return { key, identity, certPem, certFile, chainFile };
}

export interface LogOptions {
  /** false: leave the signature out of the log (no inclusion proof, no SET). */
  log?: boolean;
  /** When the log says it integrated the entry (seconds); default now. */
  integratedTime?: number;
}

function split(image: string): { host: string; repository: string; digest: string } {
  const match = /^([^/]+)\/(.+)@(sha256:[a-f0-9]{64})$/.exec(image);
  if (!match) throw new Error(`not host/repository@digest: ${image}`);
  return { host: match[1]!, repository: match[2]!, digest: match[3]! };
}

async function referrers(host: string, repository: string, digest: string): Promise<string[]> {
  const res = await fetch(`http://${host}/v2/${repository}/referrers/${digest}`);
  if (res.status === 404) return [];
  const index = (await res.json()) as { manifests?: { digest: string }[] };
  return (index.manifests ?? []).map((m) => m.digest);
}

async function fallbackIndex(tools: RegistryTools, host: string, repository: string, digest: string) {
  try {
    return await getManifestJson(tools, `${host}/${repository}:${digest.replace(':', '-')}`);
  } catch {
    return undefined;
  }
}

/** Logs the newest bundle cosign wrote (on either registry kind) and writes the entry into it. */
async function logBundle(
  tools: RegistryTools,
  sigstore: SigstoreStandIn,
  signer: KeylessSigner,
  image: string,
  before: Set<string>,
  options: LogOptions,
): Promise<void> {
  const { host, repository, digest } = split(image);
  const index = await fallbackIndex(tools, host, repository, digest);
  const listed = [
    ...(await referrers(host, repository, digest)),
    ...(((index?.manifests ?? []) as { digest: string }[]).map((m) => m.digest) ?? []),
  ];
  const fresh = [...new Set(listed)].filter((d) => !before.has(d));
  if (fresh.length !== 1) throw new Error(`expected one new bundle referrer, found ${fresh.length}`);
  const manifest = await getManifestJson(tools, `${host}/${repository}@${fresh[0]}`);
  const layer = (manifest.layers as { digest: string; size: number }[])[0]!;
  const bundle = JSON.parse((await getBlob(tools, `${host}/${repository}@${layer.digest}`)).toString('utf8'));
  const entry = sigstore.rekor.log(dsseBody(bundle.dsseEnvelope, signer.certPem), options.integratedTime);
  bundle.verificationMaterial.tlogEntries = [entry.bundleEntry];
  const bytes = Buffer.from(JSON.stringify(bundle));
  const blob = await putBlob(host, repository, bytes);
  const logged = Buffer.from(JSON.stringify({ ...manifest, layers: [{ ...layer, digest: blob, size: bytes.length }] }));
  const mediaType = String(manifest.mediaType);
  const loggedDigest = await putManifest(host, repository, sha256Digest(logged), logged, mediaType);
  // The unlogged original goes: the registry lists the logged one instead.
  await fetch(`http://${host}/v2/${repository}/manifests/${fresh[0]}`, { method: 'DELETE' });
  if (index) {
    const manifests = (index.manifests as { digest: string; size: number }[]).map((m) =>
      m.digest === fresh[0] ? { ...m, digest: loggedDigest, size: logged.length } : m,
    );
    const bytesIndex = Buffer.from(JSON.stringify({ ...index, manifests }));
    await putManifest(host, repository, digest.replace(':', '-'), bytesIndex, String(index.mediaType));
  }
}

const pemBody = (pem: string | undefined) => (pem ?? '').replace(/-----[^-]+-----|\s+/g, '');

/** Logs the legacy signature layers cosign wrote with this certificate, in the `.sig` manifest. */
async function logLegacy(
  tools: RegistryTools,
  sigstore: SigstoreStandIn,
  signer: KeylessSigner,
  image: string,
  options: LogOptions,
  suffix: 'sig' | 'att',
): Promise<void> {
  const { host, repository, digest } = split(image);
  const tag = `${digest.replace(':', '-')}.${suffix}`;
  const manifest = await getManifestJson(tools, `${host}/${repository}:${tag}`);
  type Layer = { digest: string; annotations?: Record<string, string> };
  const layers: Layer[] = [];
  for (const layer of manifest.layers as Layer[]) {
    const a = layer.annotations ?? {};
    if (pemBody(a['dev.sigstore.cosign/certificate']) !== pemBody(signer.certPem) || a['dev.sigstore.cosign/bundle']) {
      layers.push(layer);
      continue;
    }
    const payload = await getBlob(tools, `${host}/${repository}@${layer.digest}`);
    const body =
      suffix === 'sig'
        ? hashedRekordBody(payload, a['dev.cosignproject.cosign/signature']!, signer.certPem)
        : dsseBody(JSON.parse(payload.toString('utf8')), signer.certPem);
    const entry = sigstore.rekor.log(body, options.integratedTime);
    layers.push({ ...layer, annotations: { ...a, 'dev.sigstore.cosign/bundle': entry.legacyAnnotation } });
  }
  const bytes = Buffer.from(JSON.stringify({ ...manifest, layers }));
  await putManifest(host, repository, tag, bytes, String(manifest.mediaType));
}

/** What cosign is asked to do: sign, or attest a predicate (JSON) of a type. */
export type KeylessCommand = { sign: true } | { attest: { type: string; predicate: unknown } };

/**
 * Signs (or attests about) `image` (`host/repo@sha256:...`) with the real cosign and
 * `signer`'s certificate, then (unless `log: false`) logs it with the Rekor stand-in.
 */
export async function cosignKeyless(
  tools: RegistryTools,
  sigstore: SigstoreStandIn,
  signer: KeylessSigner,
  image: string,
  format: SignatureFormat,
  options: LogOptions & { command?: KeylessCommand } = {},
): Promise<void> {
  const { host, repository, digest } = split(image);
  const before = new Set([
    ...(await referrers(host, repository, digest)),
    ...(((await fallbackIndex(tools, host, repository, digest))?.manifests ?? []) as { digest: string }[]).map(
      (m) => m.digest,
    ),
  ]);
  const command = options.command ?? { sign: true };
  const args = ['attest' in command ? 'attest' : 'sign', '--key', signer.key.keyFile, '--certificate', signer.certFile];
  if ('attest' in command) {
    const file = join(dirname(signer.certFile), `predicate-${randomBytes(6).toString('hex')}.json`);
    writeFileSync(file, JSON.stringify(command.attest.predicate));
    args.push('--predicate', file, '--type', command.attest.type);
  }
  args.push('--certificate-chain', signer.chainFile, '--tlog-upload=false', '--use-signing-config=false', '--yes');
  args.push('--allow-insecure-registry', '--allow-http-registry');
  if (format === 'legacy') args.push('--new-bundle-format=false');
  await run(tools.cosign, [...args, image], { env: { ...process.env, COSIGN_PASSWORD: '' }, timeout: 60_000 });
  if (options.log === false) return;
  if (format === 'legacy')
    await logLegacy(tools, sigstore, signer, image, options, 'attest' in command ? 'att' : 'sig');
  else await logBundle(tools, sigstore, signer, image, before, options);
}
