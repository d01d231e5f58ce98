// Every image a request would run, with the field path it is written at: Pods (all
// three container lists, also through the ephemeralcontainers subresource used by
// `kubectl debug`) and the pod templates of every built-in workload kind.

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';

export interface ImageUse {
  /** Field path for messages: `spec.template.spec.containers[0].image`. */
  path: string;
  container: string;
  image: string;
}

/** Where the pod spec sits in each kind that carries one. */
const POD_SPEC_PATHS: Record<string, readonly string[]> = {
  '/Pod': ['spec'],
  '/PodTemplate': ['template', 'spec'],
  '/ReplicationController': ['spec', 'template', 'spec'],
  'apps/Deployment': ['spec', 'template', 'spec'],
  'apps/ReplicaSet': ['spec', 'template', 'spec'],
  'apps/StatefulSet': ['spec', 'template', 'spec'],
  'apps/DaemonSet': ['spec', 'template', 'spec'],
  'batch/Job': ['spec', 'template', 'spec'],
  'batch/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** The pod spec path for the request's kind, or undefined when it runs no containers. */
export function podSpecPath(request: AdmissionRequest): readonly string[] | undefined {
  if (request.subResource !== undefined && !(request.kind.kind === 'Pod' && request.subResource === 'ephemeralcontainers')) return undefined;
  return POD_SPEC_PATHS[`${request.kind.group}/${request.kind.kind}`];
}

function at(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

export function extractImages(object: KubeObject | null | undefined, specPath: readonly string[]): ImageUse[] {
  const spec = at(object, specPath);
  if (typeof spec !== 'object' || spec === null) return [];
  const uses: ImageUse[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = (spec as Record<string, unknown>)[list];
    if (!Array.isArray(containers)) continue;
    containers.forEach((c: unknown, i) => {
      const container = (c ?? {}) as { name?: unknown; image?: unknown };
      uses.push({
        path: `${specPath.join('.')}.${list}[${i}].image`,
        container: typeof container.name === 'string' ? container.name : `#${i}`,
        image: typeof container.image === 'string' ? container.image : '',
      });
    });
  }
  return uses;
}

/**
 * The images to check: on CREATE all of them; on UPDATE only those not already in the
 * old object. An image that is already running is not re-judged, so an unrelated edit
 * (a label, a replica count) of a workload admitted before a policy existed still works;
 * every image that is added or changed must pass.
 */
export function imagesToCheck(request: AdmissionRequest): ImageUse[] {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return [];
  const specPath = podSpecPath(request);
  if (!specPath) return [];
  const uses = extractImages(request.object, specPath);
  if (request.operation === 'CREATE') return uses;
  const before = new Set(extractImages(request.oldObject, specPath).map((u) => u.image));
  return uses.filter((u) => !before.has(u.image));
}
