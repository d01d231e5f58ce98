// What the diff does not count as a change. Kept narrow on purpose: every carve-out is a
// place where data could be written onto a locked object, so each one admits only what
// its owner really writes there.

import type { KubeObject } from '../admission/types.ts';
import { lastAppliedAgrees } from './last-applied.ts';

/** metadata fields the apiserver maintains on every write. */
export const SYSTEM_METADATA: ReadonlySet<string> = new Set([
  'resourceVersion',
  'managedFields',
  'generation',
  'selfLink',
]);

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
export const DEPLOYMENT_REVISION = 'deployment.kubernetes.io/revision';
/**
 * Who runs the deployment controller: its own service account when kube-controller-manager
 * uses per-controller credentials (the default of kubeadm and most distributions), else
 * the manager's shared identity.
 */
export const DEPLOYMENT_CONTROLLERS: ReadonlySet<string> = new Set([
  'system:serviceaccount:kube-system:deployment-controller',
  'system:kube-controller-manager',
]);

/**
 * Who runs the garbage collector: likewise its own service account, or the manager's
 * shared identity (kube-controller-manager's clientbuilder uses the manager's kubeconfig
 * unless --use-service-account-credentials is set, and that flag defaults to false).
 */
export const GARBAGE_COLLECTORS: ReadonlySet<string> = new Set([
  'system:serviceaccount:kube-system:generic-garbage-collector',
  'system:kube-controller-manager',
]);

/** A revision number as the deployment controller writes it (an int64 in decimal). */
const REVISION = /^(?:0|[1-9]\d{0,18})$/;

export interface BookkeepingContext {
  /** Who makes the change. */
  username?: string | undefined;
  /** The request's field manager, when it names one. */
  fieldManager?: string;
  oldObject: KubeObject;
  newObject: KubeObject;
}

/**
 * Whether a difference in annotation `key` (`after`: its new value, undefined when
 * removed) is bookkeeping rather than a change:
 * - `deployment.kubernetes.io/revision`: the deployment controller's counter; only that
 *   controller may set it, and only to a decimal number;
 * - `kubectl.kubernetes.io/last-applied-configuration`: kubectl's record of the manifest
 *   it applied; it may be removed, or set to a text that states nothing but the new
 *   object's content (see last-applied.ts). Anything else in it would be data smuggled
 *   onto the locked object, and would make the owner's next apply compute deletions.
 */
export function isBookkeepingAnnotationChange(key: string, after: unknown, context: BookkeepingContext): boolean {
  if (key === DEPLOYMENT_REVISION)
    return (
      context.username !== undefined &&
      DEPLOYMENT_CONTROLLERS.has(context.username) &&
      typeof after === 'string' &&
      REVISION.test(after)
    );
  if (key === LAST_APPLIED)
    return (
      after === undefined ||
      (typeof after === 'string' && lastAppliedAgrees(after, context.newObject, context.oldObject, SYSTEM_METADATA))
    );
  return false;
}
