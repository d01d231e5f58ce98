// What every record of an admitted request says the same way (attribution.ts,
// unlocked-change.ts): where such records live, who made the request, and which object
// it was about, as the apiserver authenticated and named them in the review.

import type { AdmissionRequest } from '../admission/types.ts';

/** Where records of one kind live: in Bulwark's namespace, each named after the admitted request's uid. */
export const recordsPath = (namespace: string, plural: string) =>
  `/apis/bulwark.dev/v1alpha1/namespaces/${encodeURIComponent(namespace)}/${plural}`;

export interface RequestTarget {
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

/** The object a request was about; `uid` only when it is a non-empty string. */
export function requestTargetOf(request: AdmissionRequest, name: string, uid: unknown): RequestTarget {
  return {
    group: request.kind.group,
    version: request.kind.version,
    kind: request.kind.kind,
    ...(request.namespace ? { namespace: request.namespace } : {}),
    name,
    ...(typeof uid === 'string' && uid !== '' ? { uid } : {}),
  };
}

/** The requester's groups, copied (a record must not share the review's array). */
export const groupsOf = (request: AdmissionRequest): string[] => [...(request.userInfo.groups ?? [])];
