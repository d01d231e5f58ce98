// Runs `bulwark test` cases: each case becomes the AdmissionReview the apiserver would
// send, decided by review/decide.ts, the very runner the webhook's /validate uses, with
// facts the test file states (namespace labels, the parent of a scale or eviction,
// UnlockRequests, the time) instead of a cluster. Image rules verify as the webhook
// does: approved digests offline, signatures from the registry the image names or from
// an OCI layout directory.

import type { AdmissionRequest } from '../../admission/types.ts';
import type { RequestFacts } from '../../decision/facts.ts';
import { decide, type FactResolver } from '../../review/decide.ts';
import { reviewFromManifests } from '../../review/from-manifests.ts';
import type { RegistryClient } from '../../registry/client.ts';
import { imageFacts } from '../image-facts.ts';
import type { LoadedCase, LoadedSuite } from './suite.ts';

export interface CaseResult {
  suite: string;
  file: string;
  name: string;
  passed: boolean;
  allowed: boolean;
  /** The denial message, as kubectl would print it. */
  message?: string;
  warnings: string[];
  /** Why the result is not the expected one. */
  failures: string[];
  durationMs: number;
}

function factsOf(suite: LoadedSuite, c: LoadedCase, nowMs: number): FactResolver {
  return async (request: AdmissionRequest) => {
    const facts: RequestFacts = { now: suite.nowMs ?? nowMs, unlocks: suite.unlocks };
    const labels = c.namespaceLabels ?? (request.namespace ? suite.namespaces[request.namespace] : undefined);
    if (labels) facts.namespaceLabels = labels;
    if (c.parent) facts.parent = { status: 'found', object: c.parent };
    return facts;
  };
}

function check(c: LoadedCase, allowed: boolean, message: string | undefined, warnings: readonly string[]) {
  const failures: string[] = [];
  const expected = c.expect;
  if (allowed !== expected.allowed)
    failures.push(
      `expected ${expected.allowed ? 'allowed' : 'denied'}, got ${allowed ? 'allowed' : 'denied'}` +
        (message ? `: ${message}` : ''),
    );
  if (expected.reason !== undefined && !(message ?? '').includes(expected.reason))
    failures.push(`expected the denial to say ${JSON.stringify(expected.reason)}, it says ${JSON.stringify(message)}`);
  if (expected.warning !== undefined && !warnings.some((w) => w.includes(expected.warning!)))
    failures.push(
      `expected a warning saying ${JSON.stringify(expected.warning)}, got ${JSON.stringify(warnings.join(' | '))}`,
    );
  return failures;
}

/**
 * Where signatures come from, opened once for every suite that has ImagePolicies: the
 * registry the image names, or an OCI layout directory (`--oci-layout`).
 */
export type Signatures = () => Promise<RegistryClient>;

export async function runSuite(suite: LoadedSuite, nowMs: number, signatures: Signatures): Promise<CaseResult[]> {
  const snapshot = suite.store.snapshot();
  const results: CaseResult[] = [];
  const images =
    snapshot.images.length > 0 ? await imageFacts(await signatures(), snapshot.lockLabel, 8000) : undefined;
  for (const [i, c] of suite.cases.entries()) {
    const started = performance.now();
    const isSubresource = c.subResource === 'scale' || c.subResource === 'eviction';
    const review = reviewFromManifests({
      ...(isSubresource ? { oldObject: c.parent ?? c.old } : c.old ? { oldObject: c.old } : {}),
      ...(c.new ? { object: c.new } : {}),
      ...(c.operation ? { operation: c.operation } : {}),
      ...(c.subResource ? { subResource: c.subResource } : {}),
      ...(c.replicas !== undefined ? { replicas: c.replicas } : {}),
      ...(c.resource ? { resource: c.resource } : {}),
      ...(c.user ? { user: c.user } : {}),
      ...(c.groups ? { groups: c.groups } : {}),
      uid: `${suite.file}#${i}`,
    });
    const base = factsOf(suite, c, nowMs);
    const resolveFacts = images ? images(base) : base;
    const { review: answer } = await decide(review, { snapshot: () => snapshot, resolveFacts });
    const { allowed, status, warnings = [] } = answer.response;
    const message = status?.message;
    const failures = check(c, allowed, message, warnings);
    results.push({
      suite: suite.name,
      file: suite.file,
      name: c.name,
      passed: failures.length === 0,
      allowed,
      ...(message ? { message } : {}),
      warnings,
      failures,
      durationMs: performance.now() - started,
    });
  }
  return results;
}
