// The webhook's image fact lookup for the offline commands (`bulwark test`, `check`,
// `review`): approved digests need nothing; signatures are read from an OCI layout
// directory when one is given (then no registry is contacted), else from the registry
// the image names. Loaded only when policies judge images: the registry client and
// sigstore are the slow part of start-up.

import type { LockLabel } from '../policy/compiled.ts';
import type { RegistryClient } from '../registry/client.ts';
import type { FactResolver } from '../review/decide.ts';

/** The registry client, or the layout read as one (an unusable layout throws OCI_LAYOUT_INVALID). */
export async function signatureSource(ociLayout: string | undefined): Promise<RegistryClient> {
  if (ociLayout) return (await import('../registry/oci-layout.ts')).openOciLayout(ociLayout);
  return (await import('../registry/client.ts')).createRegistryClient();
}

/** Adds image facts, verified with signatures from `registry`, to what a resolver finds. */
export async function imageFacts(registry: RegistryClient, lockLabel: LockLabel, timeoutMs: number) {
  const [{ withImageFacts }, { createVerifier }, { tagResolver }] = await Promise.all([
    import('../image-verification/gather.ts'),
    import('../image-verification/verify.ts'),
    import('../image-verification/resolve-tag.ts'),
  ]);
  const deps = {
    verify: createVerifier({ registry, lockLabel }),
    resolveTag: tagResolver(registry, undefined),
    timeoutMs,
  };
  return (base: FactResolver): FactResolver => withImageFacts(base, deps);
}
