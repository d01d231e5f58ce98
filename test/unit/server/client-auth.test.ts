// --client-ca: off without a file; with one, the server asks for and requires a client
// certificate of that CA; an unreadable or non-PEM file stops the start with a clear error.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientAuthOptions } from '../../../src/server/client-auth.ts';
import { generateCertificates } from '../../../src/server/certificates.ts';

describe('client certificate options', () => {
  it('asks nothing of clients without a client CA', async () => {
    expect(await clientAuthOptions(undefined)).toEqual({});
  });

  it('requires a certificate of the given CA', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-client-ca-'));
    const { caCertPem } = await generateCertificates();
    await writeFile(join(dir, 'ca.crt'), caCertPem);
    expect(await clientAuthOptions(join(dir, 'ca.crt'))).toEqual({
      requestCert: true,
      rejectUnauthorized: true,
      ca: caCertPem,
    });
  });

  it('refuses a missing file or one that holds no certificate', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-client-ca-'));
    await writeFile(join(dir, 'garbage.crt'), 'not a certificate');
    for (const file of [join(dir, 'missing.crt'), join(dir, 'garbage.crt')])
      await expect(clientAuthOptions(file)).rejects.toMatchObject({
        code: 'TLS_LOAD_FAILED',
        message: `client CA ${file} is not a readable PEM certificate`,
      });
  });
});
