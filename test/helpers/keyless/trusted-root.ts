// The stand-ins' public material as a sigstore trusted_root.json (the format of
// sigstore's TUF repository and of `cosign trusted-root create`), as a user would copy it
// into the ConfigMap an ImagePolicy names.

import type { FulcioStandIn, LogKey } from './fulcio.ts';
import type { RekorStandIn } from './rekor.ts';

const since = '2020-01-01T00:00:00Z';

function logInstance(baseUrl: string, key: LogKey) {
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: key.spki.toString('base64'),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor: { start: since },
    },
    logId: { keyId: key.logId.toString('base64') },
  };
}

export function trustedRootJson(fulcio: FulcioStandIn, rekor: RekorStandIn): string {
  return JSON.stringify(
    {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [logInstance(rekor.baseUrl, rekor.key)],
      certificateAuthorities: [
        {
          subject: { organization: 'bulwark tests', commonName: 'fulcio.standin.test root' },
          uri: 'https://fulcio.standin.test',
          certChain: { certificates: [{ rawBytes: fulcio.rootDer.toString('base64') }] },
          validFor: { start: since },
        },
      ],
      ctlogs: [logInstance('https://ctfe.standin.test', fulcio.ct)],
      timestampAuthorities: [],
    },
    null,
    2,
  );
}
