// What a change removes. A pull request that deletes a manifest makes a GitOps tool with
// pruning (Argo CD `prune`, Flux `prune: true`) delete the object, so `bulwark check
// --base` compares the manifests before the change with the new set: an object the base
// has and the new set lacks is checked as a DELETE. A rename (another kind or name) is
// the same: the old identity is deleted, the new one created.

import type { KubeObject } from '../../admission/types.ts';
import type { LockedContents } from '../../decision/facts.ts';
import type { Manifest } from './check.ts';
import { identityOf } from './snapshot.ts';

function keyOf(object: KubeObject, defaultNamespace: string): string {
  const { group, kind, namespace, name } = identityOf(object);
  return `${group}/${kind}/${namespace ?? defaultNamespace}/${name}`;
}

/** The base's manifests whose object the current set no longer names. */
export function removedFrom(
  base: readonly Manifest[],
  current: readonly Manifest[],
  defaultNamespace: string,
): Manifest[] {
  const kept = new Set(current.map((m) => keyOf(m.object, defaultNamespace)));
  return base.filter((m) => !kept.has(keyOf(m.object, defaultNamespace)));
}

/**
 * For the deletion guards: the locked objects (the snapshot holds every one) a Namespace
 * or a CustomResourceDefinition still holds, as the webhook lists them from the cluster.
 */
export function lockedContentsOf(deleted: KubeObject, locked: readonly KubeObject[]): LockedContents {
  const { group, kind, name } = identityOf(deleted);
  const spec = deleted.spec as { group?: string; names?: { kind?: string } } | undefined;
  const held =
    kind === 'Namespace' && group === ''
      ? locked.filter((o) => o.metadata?.namespace === name)
      : kind === 'CustomResourceDefinition' && group === 'apiextensions.k8s.io'
        ? locked.filter((o) => {
            const i = identityOf(o);
            return i.group === spec?.group && i.kind === spec?.names?.kind;
          })
        : [];
  const described = held.map((o) => {
    const i = identityOf(o);
    return `${i.kind} ${i.namespace && kind !== 'Namespace' ? `${i.namespace}/` : ''}${i.name}`;
  });
  return { status: 'listed', objects: described, more: false };
}
