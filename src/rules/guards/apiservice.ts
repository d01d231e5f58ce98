// The APIService guard (pure). An APIService tells the apiserver's aggregator who serves
// a group/version: the apiserver itself (no spec.service), or a server behind a Service.
// Pointing a group/version at another server changes how every locked object of it
// reads, without writing any of them: that server answers the reads, and writes go to
// it, past this apiserver's admission. It is the routing counterpart of a CRD schema
// change (crd-update.ts) and is judged the same way: denied while locked objects of the
// group exist, naming some, unless an approved UnlockRequest for the APIService
// (operation UPDATE, also for a creation) covers it. Routing back to the apiserver
// itself, a new caBundle or TLS setting for the same server, and priorities change no
// server and pass; so does every APIService the apiserver registers for a CRD (local).
// The shell lists the group's locked objects at its current routing, with a deadline; a
// failed listing denies (fail closed).

import type { AdmissionRequest } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import { allow, deny, type Verdict } from '../../decision/verdict.ts';
import type { PolicySnapshot } from '../../policy/compiled.ts';
import { unlockedVerdict, unlockForUpdate } from './guard-unlock.ts';

const GROUP = 'apiregistration.k8s.io';
const KIND = 'APIService';

interface ApiServiceSpec {
  group?: string;
  version?: string;
  service?: { namespace?: string; name?: string; port?: number } | null;
}

const specOf = (o: unknown): ApiServiceSpec => (o as { spec?: ApiServiceSpec } | null | undefined)?.spec ?? {};
const serverOf = (spec: ApiServiceSpec) =>
  spec.service
    ? JSON.stringify([spec.group, spec.version, spec.service.namespace, spec.service.name, spec.service.port ?? 443])
    : undefined;

/** A create or update of an APIService after which another server serves its group/version. */
export function isApiServiceRerouting(request: AdmissionRequest): boolean {
  if (request.kind.group !== GROUP || request.kind.kind !== KIND || request.subResource !== undefined) return false;
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return false;
  const after = serverOf(specOf(request.object));
  return after !== undefined && (request.operation === 'CREATE' || after !== serverOf(specOf(request.oldObject)));
}

/** The group whose locked objects a rerouting exposes: the one served now (the same, as names are version.group). */
export function reroutedGroup(request: AdmissionRequest): string {
  return specOf(request.oldObject ?? request.object).group ?? '';
}

export function evaluateApiServiceGuard(
  rule: string,
  request: AdmissionRequest,
  snapshot: PolicySnapshot,
  facts: RequestFacts,
): Verdict {
  if (!isApiServiceRerouting(request)) return allow(rule, 'skip');
  const what = `APIService ${request.name ?? ''}`;
  const unlock = unlockForUpdate(request, snapshot, facts, { group: GROUP, kind: KIND });
  if (unlock?.ok) return unlockedVerdict(rule, what, unlock);
  const why = unlock && !unlock.ok ? ` (${unlock.why.join('; ')})` : '';
  const group = reroutedGroup(request);
  const spec = specOf(request.object);
  const contents = facts.lockedContents;
  if (!contents || contents.status === 'unavailable') {
    return deny(
      rule,
      `${what}: cannot check whether group ${group} holds objects ` +
        `labelled ${snapshot.lockLabel.key}=${snapshot.lockLabel.value}, so this change is denied (fail ` +
        `closed): ${contents?.status === 'unavailable' ? contents.reason : 'not looked up'}${why}`,
    );
  }
  if (contents.objects.length === 0) return allow(rule);
  const listed = `${contents.objects.join(', ')}${contents.more ? ', and more' : ''}`;
  const server = `Service ${spec.service?.namespace ?? ''}/${spec.service?.name ?? ''}`;
  return deny(
    rule,
    `${what}: this change would have ${server} serve ${spec.group ?? ''}/${spec.version ?? ''} instead of this ` +
      `apiserver, while locked objects of group ${group} exist (${listed}): they would read as that server ` +
      `says, and writes to them would reach it without this apiserver\`s admission. An UnlockRequest for the ` +
      `APIService (kubectl bulwark unlock request apiservice/${request.name ?? ''} --operation UPDATE ` +
      `--reason ...) must be approved first${why}`,
  );
}
