// Every image a request would make the kubelet pull, with the field path it is written
// at: the three container lists and image volumes of Pods (also through the
// ephemeralcontainers subresource used by `kubectl debug`) and of the pod templates of
// every built-in workload kind. IMAGE_FIELDS is the list of such fields; a test walks
// the apiserver's Pod schema and fails when it finds one this list does not name.

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';

export interface ImageUse {
  /** Field path for messages: `spec.template.spec.containers[0].image`. */
  path: string;
  /** The container's name, or `volume-<name>` for an image volume: for audit annotations. */
  container: string;
  image: string;
}

/**
 * The PodSpec fields through which the kubelet pulls an image: a list of the PodSpec and
 * the path to the reference within each element. Paths are written as the schema test
 * writes them: `volumes[].image.reference`.
 */
export const IMAGE_FIELDS = [
  { list: 'initContainers', field: ['image'], owner: (name: string) => name },
  { list: 'containers', field: ['image'], owner: (name: string) => name },
  { list: 'ephemeralContainers', field: ['image'], owner: (name: string) => name },
  // Image volumes (KEP-4639): an OCI image or artifact mounted read-only, pulled like a container image.
  { list: 'volumes', field: ['image', 'reference'], owner: (name: string) => `volume-${name}` },
] as const;

/** Where the pod spec sits in each kind that carries one. */
export const POD_SPEC_PATHS: Record<string, readonly string[]> = {
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

/** The pod spec path for the request's kind, or undefined when it runs no containers. */
export function podSpecPath(request: AdmissionRequest): readonly string[] | undefined {
  if (
    request.subResource !== undefined &&
    !(request.kind.kind === 'Pod' && request.subResource === 'ephemeralcontainers')
  )
    return undefined;
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
  for (const { list, field, owner } of IMAGE_FIELDS) {
    const elements = (spec as Record<string, unknown>)[list];
    if (!Array.isArray(elements)) continue;
    elements.forEach((element: unknown, i) => {
      const holder = at(element, field.slice(0, -1));
      // A volume of another type has no `image`: it pulls nothing.
      if (field.length > 1 && (typeof holder !== 'object' || holder === null)) return;
      const name = (element as { name?: unknown } | null)?.name;
      const image = at(element, field);
      uses.push({
        path: `${specPath.join('.')}.${list}[${i}].${field.join('.')}`,
        container: owner(typeof name === 'string' ? name : `#${i}`),
        image: typeof image === 'string' ? image : '',
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
