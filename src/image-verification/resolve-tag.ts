// What a tag points at now: the digest of the manifest the registry serves for it.
// Used to show a pinned reference in the denial of a tag-only image, and to verify
// tag-only images under a policy that does not require digests.

import type { ReadSecret } from '../cluster/secrets.ts';
import { BaseError } from '../errors.ts';
import type { RegistryClient } from '../registry/client.ts';
import type { ImageGatherDeps } from './gather.ts';
import { registryAccess } from './material.ts';

export function tagResolver(client: RegistryClient, readSecret: ReadSecret | undefined): ImageGatherDeps['resolveTag'] {
  return async (ref, policy, pullSecrets, signal) => {
    if (!ref.tag) throw new BaseError('IMAGE_UNRESOLVED', `${ref.original} has neither tag nor digest`);
    const access = await registryAccess({ image: { ...ref, digest: '' }, policy, pullSecrets }, readSecret, signal);
    if ('problem' in access) throw new BaseError('IMAGE_UNRESOLVED', access.problem);
    const manifest = await client.getManifest(access, ref.repository, ref.tag, signal);
    if (!manifest)
      throw new BaseError('IMAGE_UNRESOLVED', `${ref.registry}/${ref.repository}:${ref.tag} does not exist`);
    return manifest.digest;
  };
}
