// TLS material from files, reloaded when the files change on disk, so certificates
// rotate without a restart (Kubernetes updates mounted Secrets by swapping a symlink,
// which file watchers miss; polling the content catches every kind of update).

import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { BaseError } from '../errors.ts';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsMaterial {
  cert: string;
  key: string;
  /** Content fingerprint, to notice changes. */
  fingerprint: string;
  /** When the (first) certificate expires, epoch milliseconds. */
  notAfterMs: number;
}

export const TLS_OPTIONS = { minVersion: 'TLSv1.2' } as const satisfies SecureContextOptions;

export async function loadTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(files.certFile, 'utf8'), readFile(files.keyFile, 'utf8')]);
  } catch (err) {
    throw new BaseError(
      'TLS_LOAD_FAILED',
      `cannot read TLS files ${files.certFile}, ${files.keyFile}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    // Fails on a malformed PEM or a key that does not match the certificate.
    createSecureContext({ ...TLS_OPTIONS, cert, key });
  } catch (err) {
    throw new BaseError(
      'TLS_LOAD_FAILED',
      `TLS certificate ${files.certFile} and key ${files.keyFile} are not a valid pair: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const fingerprint = createHash('sha256').update(cert).update('\0').update(key).digest('hex');
  return { cert, key, fingerprint, notAfterMs: Date.parse(new X509Certificate(cert).validTo) };
}

export interface TlsReloaderOptions {
  files: TlsFiles;
  initial: TlsMaterial;
  intervalMs: number;
  /** Installs new material on the server (tls.Server#setSecureContext). */
  apply: (material: TlsMaterial) => void;
  onReload: (material: TlsMaterial) => void;
  onError: (error: unknown) => void;
}

/** Polls the files; on a valid change applies it, on an invalid one keeps the old pair. */
export function watchTlsFiles(options: TlsReloaderOptions): { stop(): void } {
  let current = options.initial.fingerprint;
  let lastError = '';
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const material = await loadTlsMaterial(options.files);
      lastError = '';
      if (material.fingerprint !== current) {
        options.apply(material);
        current = material.fingerprint;
        options.onReload(material);
      }
    } catch (err) {
      // A rotation writes cert and key one after the other: report a bad pair once, keep serving the old one.
      const message = (err as Error).message;
      if (message !== lastError) options.onError(err);
      lastError = message;
    } finally {
      busy = false;
    }
  }, options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
