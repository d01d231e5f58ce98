// The pure keyless check (rules/images/cosign/keyless.ts, through bundle.ts) on sigstore
// bundles made in-process with the Fulcio, CT and Rekor stand-ins: what each broken part
// is reported as. Real cosign material is covered by the integration and e2e tests.

import { generateKeyPairSync, sign } from 'node:crypto';
import { dsse } from '@sigstore/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTrustedRoot } from '../../../src/image-verification/trusted-root.ts';
import { compileKeyless } from '../../../src/policy/compile-keyless.ts';
import { verifyKeylessBundleEnvelope } from '../../../src/rules/images/cosign/bundle.ts';
import type { KeylessTrust } from '../../../src/rules/images/cosign/keyless.ts';
import { startSigstoreStandIn, type SigstoreStandIn } from '../../e2e/helpers/keyless.ts';
import { dsseBody } from '../../helpers/keyless/rekor.ts';

const ALICE = { issuer: 'https://issuer.example.com', subject: 'alice@example.com' };
const TYPE = 'application/vnd.in-toto+json';
let sigstore: SigstoreStandIn;
let trust: KeylessTrust;

async function signedBundle(options: { tamperSet?: boolean; otherSignature?: boolean } = {}) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const cert = await sigstore.fulcio.issue({ publicKeyPem: pem, identity: ALICE });
  const payload = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
  const sig = (data: Buffer) => sign('sha256', dsse.preAuthEncoding(TYPE, data), privateKey).toString('base64');
  const envelope = { payloadType: TYPE, payload: payload.toString('base64'), signatures: [{ sig: sig(payload) }] };
  const logged = options.otherSignature ? { ...envelope, signatures: [{ sig: sig(Buffer.from('x')) }] } : envelope;
  const entry = sigstore.rekor.log(dsseBody(logged, cert)).bundleEntry;
  if (options.tamperSet) entry.inclusionPromise = { signedEntryTimestamp: Buffer.alloc(70, 1).toString('base64') };
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      certificate: { rawBytes: cert.replace(/-----[^-]+-----|\s+/g, '') },
      tlogEntries: [entry],
    },
    dsseEnvelope: envelope,
  };
}

beforeAll(async () => {
  sigstore = await startSigstoreStandIn();
  const root = await parseTrustedRoot(sigstore.trustedRoot);
  if ('problem' in root) throw new Error(root.problem);
  const { identities } = compileKeyless(
    'ci',
    { trustedRootRef: { namespace: 'a', name: 'b' }, identities: [ALICE] },
    'x',
    [],
  );
  trust = { material: root.material, identities, rootName: 'ConfigMap a/b' };
});

describe('keyless sigstore bundles', () => {
  it('verify, naming the signer', async () => {
    expect(verifyKeylessBundleEnvelope(await signedBundle(), trust)).toMatchObject({
      outcome: 'ok',
      signer: { issuer: ALICE.issuer, subject: ALICE.subject },
    });
  });

  it('a SET the log did not sign: not genuine, said of the log', async () => {
    const r = verifyKeylessBundleEnvelope(await signedBundle({ tamperSet: true }), trust);
    expect(r).toMatchObject({ outcome: 'not-genuine' });
    expect(r.outcome !== 'ok' && r.reason).toMatch(
      /its transparency-log entry does not verify with a log of the trusted/,
    );
  });

  it('a log entry for another signature: not genuine', async () => {
    const r = verifyKeylessBundleEnvelope(await signedBundle({ otherSignature: true }), trust);
    expect(r.outcome !== 'ok' && r.reason).toMatch(/its transparency-log entry is for another signature/);
  });

  it('a root without logs is refused when it is read', async () => {
    const root = JSON.parse(sigstore.trustedRoot);
    expect(await parseTrustedRoot(JSON.stringify({ ...root, tlogs: [], ctlogs: [] }))).toEqual({
      problem: 'is a trusted root without tlogs (Rekor), ctlogs (CT)',
    });
    expect(await parseTrustedRoot('not json')).toMatchObject({
      problem: expect.stringMatching(/^is not a sigstore trusted/),
    });
  });
});
