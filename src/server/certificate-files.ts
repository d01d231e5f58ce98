// Writes generated certificates where a person (or the test harness) can find them.

import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateOptions } from './certificates.ts';

export interface CertificateFiles {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export async function writeGeneratedCertificates(
  dir: string | undefined,
  options: CertificateOptions = {},
): Promise<CertificateFiles> {
  const target = dir ?? (await mkdtemp(join(tmpdir(), 'bulwark-tls-')));
  await mkdir(target, { recursive: true });
  // Imported only now: @peculiar/x509 and its ASN.1 stack weigh about 15 MB of memory, and a
  // webhook given its certificate (--cert, the chart) never generates one (issue 19).
  const { generateCertificates } = await import('./certificates.ts');
  const generated = await generateCertificates(options);
  const files = {
    dir: target,
    caFile: join(target, 'ca.crt'),
    certFile: join(target, 'tls.crt'),
    keyFile: join(target, 'tls.key'),
  };
  await writeFile(files.caFile, generated.caCertPem);
  await writeFile(files.certFile, generated.certPem);
  await writeFile(files.keyFile, generated.keyPem, { mode: 0o600 });
  return files;
}
