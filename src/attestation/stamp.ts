// What Bulwark's mutating webhook does to an UnlockRequest write (and to nothing else):
// the approvals, rejections and reviews the write appends get Bulwark's attestation when
// they are in the name and groups of the user making the write, as the apiserver reports
// them; any other attestation on an appended entry is removed, so a forged one never reaches storage
// with Bulwark's approval. Stored approvals are left alone (the validating rule keeps
// them append-only, and an altered one no longer matches its MAC anyway).

import type { AdmissionRequest } from '../admission/types.ts';
import { attestApproval, SIGN_OFF_LIST_NAMES, type ApprovalContent, type SignOffList } from './approval.ts';
import type { AttestationKeyRing } from './keys.ts';

export interface JsonPatchOperation {
  op: 'add' | 'remove';
  path: string;
  value?: unknown;
}

const entriesOf = (object: unknown, name: SignOffList): ApprovalContent[] => {
  const list = (object as { spec?: Record<string, unknown> } | null | undefined)?.spec?.[name];
  return Array.isArray(list) ? (list as ApprovalContent[]) : [];
};

const sameSet = (a: readonly string[], b: readonly string[]) => {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((g) => y.has(g));
};

/** Whether an appended approval is in the name and exact groups of whoever writes it. */
function isAuthors(approval: ApprovalContent, request: AdmissionRequest): boolean {
  const groups = approval.groups;
  return (
    approval.user === request.userInfo.username &&
    Array.isArray(groups) &&
    groups.every((g) => typeof g === 'string') &&
    sameSet(groups as string[], request.userInfo.groups ?? [])
  );
}

/** The kinds whose sign-offs are attested: policy/crds.ts UNLOCK_KINDS (attestation sits below policy). */
export const ATTESTED_KINDS: ReadonlySet<string> = new Set(['UnlockRequest', 'LocalUnlockRequest']);

export function isUnlockRequestWrite(request: AdmissionRequest): boolean {
  return (
    request.kind.group === 'bulwark.dev' &&
    ATTESTED_KINDS.has(request.kind.kind) &&
    request.subResource === undefined &&
    (request.operation === 'CREATE' || request.operation === 'UPDATE')
  );
}

/** The JSON Patch that attests the entries this write appends (empty: nothing to do). `at` is now, RFC 3339. */
export function attestationPatch(
  request: AdmissionRequest,
  ring: AttestationKeyRing,
  at: string,
): JsonPatchOperation[] {
  if (!isUnlockRequestWrite(request)) return [];
  const uid = request.object?.metadata?.uid ?? request.oldObject?.metadata?.uid;
  const ops: JsonPatchOperation[] = [];
  for (const list of SIGN_OFF_LIST_NAMES) {
    const before = request.operation === 'UPDATE' ? entriesOf(request.oldObject, list).length : 0;
    entriesOf(request.object, list).forEach((entry, i) => {
      if (i < before) return;
      const path = `/spec/${list}/${i}/attestation`;
      // A CREATE has no uid yet in the review, and a new request has no approvals anyway.
      if (typeof uid === 'string' && uid !== '' && isAuthors(entry, request))
        ops.push({ op: 'add', path, value: attestApproval(ring, uid, entry, at, list) });
      else if (entry.attestation !== undefined) ops.push({ op: 'remove', path });
    });
  }
  return ops;
}
