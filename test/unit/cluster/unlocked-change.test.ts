// Recording a change an unlock let through (cluster/unlocked-change.ts) through decide(): the
// captured UPDATE of a locked ConfigMap, allowed by an approved UnlockRequest, writes one
// signed record (the object's uid, the unlock, the content hash before and after, the
// resourceVersion it changed) named after the request uid, before the answer. A denied change,
// a dry run, a LocalUnlockRequest's change (named with its namespace) and a failed write: see
// below. A failed write never denies: the audit reports the change instead.
// (The real apiserver: test/e2e/unlock-audit.test.ts.)

import { describe, expect, it } from 'vitest';
import type { AdmissionReviewRequest } from '../../../src/admission/types.ts';
import { contentHash } from '../../../src/attestation/seal.ts';
import { checkUnlockedChange, type UnlockedChangeSpec } from '../../../src/attestation/unlocked-change.ts';
import type { CallResult } from '../../../src/cluster/kube-client.ts';
import { createUnlockedChangeRecorder, unlockOf } from '../../../src/cluster/unlocked-change.ts';
import type { CompiledUnlock } from '../../../src/policy/compile-unlock.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { decide } from '../../../src/review/decide.ts';
import { TEST_KEYS } from '../../helpers/attestation.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { variant } from '../../helpers/reviews.ts';
import { compiler } from '../../helpers/snapshots.ts';
import { CREATED_MS, twoApproversSnapshot, unlockRequest } from '../../helpers/unlock.ts';

const NOW = CREATED_MS + 60_000;
const logger = createLogger('silent');
const GROUPS = ['dev', 'approvers', 'system:authenticated'];
const by = (user: string) => ({ user, groups: GROUPS });

const compiled = (options: { local?: string } = {}): CompiledUnlock => {
  const r = compiler.unlock(unlockRequest('ur-1', {}, [by('bob'), by('carol')], options));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.unlock;
};

function recorder(answer: () => Promise<CallResult>, keys = true) {
  const calls: { path: string; body: { metadata: { name: string }; spec: UnlockedChangeSpec } }[] = [];
  const failures: string[] = [];
  const hook = createUnlockedChangeRecorder({
    client: {
      call: (_method, path, options) => {
        calls.push({ path, body: JSON.parse(options.body ?? 'null') });
        return answer();
      },
    },
    namespace: 'bulwark-system',
    keys: () => (keys ? TEST_KEYS : undefined),
    logger,
    onFailure: (why) => failures.push(why),
    timeoutMs: 1000,
    now: () => NOW,
  });
  return { hook, calls, failures };
}

const run = (
  hook: ReturnType<typeof recorder>['hook'],
  unlocks: CompiledUnlock[],
  review: AdmissionReviewRequest = loadReview('configmap-apply-changed'),
) =>
  decide(review, {
    snapshot: twoApproversSnapshot,
    resolveFacts: async () => ({ now: NOW, unlocks, namespaceLabels: {} }),
    onDecided: hook,
  });

describe('recording a change an unlock let through', () => {
  it('writes one signed record of the change, named after the request, before answering', async () => {
    const { hook, calls, failures } = recorder(async () => ({ status: 201, body: {} }));
    const review = loadReview('configmap-apply-changed');
    const decided = await run(hook, [compiled()], review);
    expect(decided.verdict.allowed).toBe(true);
    expect(calls).toHaveLength(1);
    const { oldObject, object } = review.request;
    expect(calls[0]).toMatchObject({
      path: '/apis/bulwark.dev/v1alpha1/namespaces/bulwark-system/unlockedchanges',
      body: {
        metadata: { name: review.request.uid },
        spec: {
          user: 'alice',
          at: new Date(NOW).toISOString(),
          target: { group: '', version: 'v1', kind: 'ConfigMap', namespace: 'demo', uid: oldObject!.metadata!.uid },
          unlock: { kind: 'UnlockRequest', name: 'ur-1' },
          from: contentHash(oldObject!),
          to: contentHash(object!),
          fromResourceVersion: oldObject!.metadata!.resourceVersion,
        },
      },
    });
    expect(checkUnlockedChange(TEST_KEYS, calls[0]!.body.spec)).toEqual({ ok: true });
    expect(failures).toEqual([]);
  });

  it('names a LocalUnlockRequest with its kind and namespace', async () => {
    const { hook, calls } = recorder(async () => ({ status: 201, body: {} }));
    await run(hook, [compiled({ local: 'demo' })]);
    expect(calls[0]?.body.spec.unlock).toEqual({ kind: 'LocalUnlockRequest', namespace: 'demo', name: 'ur-1' });
  });

  it('writes nothing for a denied change or a dry run', async () => {
    const { hook, calls } = recorder(async () => ({ status: 201, body: {} }));
    expect((await run(hook, [])).verdict.allowed).toBe(false);
    const dry = variant('configmap-apply-changed', (r) => {
      r.request.dryRun = true;
    });
    expect((await run(hook, [compiled()], dry)).verdict.allowed).toBe(true);
    expect(calls).toEqual([]);
  });

  it('never denies when the record cannot be written: it counts why (the audit then reports drift)', async () => {
    const failing = recorder(async () => ({ status: 403, body: { message: 'forbidden' } }));
    expect((await run(failing.hook, [compiled()])).verdict.allowed).toBe(true);
    expect(failing.failures).toEqual(['write-failed']);
    const keyless = recorder(async () => ({ status: 201, body: {} }), false);
    expect((await run(keyless.hook, [compiled()])).verdict.allowed).toBe(true);
    expect(keyless.failures).toEqual(['no-key']);
    expect(keyless.calls).toEqual([]);
    // Recorded already (the same request at two webhook entries, or a retry): fine.
    const again = recorder(async () => ({ status: 409, body: {} }));
    await run(again.hook, [compiled()]);
    expect(again.failures).toEqual([]);
  });

  it('reads the unlock from the verdict only when an unlock allowed it', () => {
    const verdict = {
      allowed: true,
      reasons: [],
      warnings: [],
      auditAnnotations: { 'unlock-request': 'ur-1' },
      outcomes: [{ rule: 'immutability', decision: 'allow' as const }],
    };
    expect(unlockOf(verdict)).toBeUndefined();
  });
});
