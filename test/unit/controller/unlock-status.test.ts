// The status loop over real UnlockRequest and LocalUnlockRequest objects (test/helpers/unlock.ts)
// and the captured ConfigMap they name, with the API server's answers scripted: one pass writes
// each request's status at its own kind's path, records each transition as Events on the
// request (a LocalUnlockRequest's in its namespace) and on the target, tells the notifier,
// and a second pass writes nothing. A replica that does not lead does nothing. The loop
// against a real apiserver: e2e unlock-workflow.test.ts and unlock-tenancy.test.ts.

import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/admission/types.ts';
import type { Discovery } from '../../../src/cluster/discovery.ts';
import type { KubeClient } from '../../../src/cluster/kube-client.ts';
import type { EventNote } from '../../../src/controller/events.ts';
import { eventRecorder } from '../../../src/controller/events.ts';
import { notificationOf } from '../../../src/controller/start.ts';
import { unlockStatusLoop, type Transition } from '../../../src/controller/unlock-status.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { unlockPath } from '../../../src/policy/crds.ts';
import { loadReview } from '../../helpers/fixtures.ts';
import { oldObjectOf } from '../../helpers/reviews.ts';
import { compiler } from '../../helpers/snapshots.ts';
import { CREATED_MS, twoApproversSnapshot, unlockRequest } from '../../helpers/unlock.ts';

const GROUPS = ['dev', 'approvers', 'system:authenticated'];
const by = (user: string) => ({ user, groups: GROUPS });
const TARGET = oldObjectOf(loadReview('configmap-apply-changed'));
const NS = TARGET.metadata?.namespace as string;
const CONFIGMAPS = {
  group: '',
  version: 'v1',
  resource: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
  verbs: ['get'],
};
const discovery = {
  find: async (group: string, kind: string) => (group === '' && kind === 'ConfigMap' ? CONFIGMAPS : undefined),
} as unknown as Discovery;
const silent = createLogger('silent');

/** An API server with these unlock requests and the captured ConfigMap; it records what is written. */
function apiserver(objects: { cluster: KubeObject[]; local: KubeObject[] }) {
  const patches: { path: string; status: Record<string, unknown> }[] = [];
  const posts: { path: string; body: Record<string, unknown> }[] = [];
  const stored = new Map<string, KubeObject>();
  for (const o of objects.cluster) stored.set(unlockPath('UnlockRequest', undefined, o.metadata?.name), o);
  for (const o of objects.local)
    stored.set(unlockPath('LocalUnlockRequest', o.metadata?.namespace, o.metadata?.name), o);
  const client = {
    async getJson(path: string) {
      if (path === unlockPath('UnlockRequest')) return { items: objects.cluster };
      if (path === unlockPath('LocalUnlockRequest')) return { items: objects.local };
      if (path === `/api/v1/namespaces/${NS}/configmaps/${TARGET.metadata?.name}`) return TARGET;
      return undefined;
    },
    async mergePatch(path: string, patch: { status: Record<string, unknown> }) {
      patches.push({ path, status: patch.status });
      const object = stored.get(path.replace(/\/status$/, ''));
      if (object) Object.assign(object, { status: patch.status });
      return object;
    },
    async call(method: string, path: string, options: { body?: string }) {
      posts.push({ path, body: JSON.parse(options.body ?? '{}') });
      return { status: method === 'POST' ? 201 : 200, body: {} };
    },
  } as unknown as KubeClient;
  return { client, patches, posts };
}

function loop(server: ReturnType<typeof apiserver>, leading = true) {
  const transitions: Record<string, unknown>[] = [];
  const status = unlockStatusLoop({
    client: server.client,
    discovery,
    compiler,
    snapshot: twoApproversSnapshot,
    namespaceLabels: () => ({}),
    isLeader: () => leading,
    recordEvent: eventRecorder({ client: server.client, logger: silent, now: () => CREATED_MS + 60_000 }),
    logger: silent,
    onTransition: (t: Transition, event: Omit<EventNote, 'involved'>) => transitions.push(notificationOf(t, event)),
    now: () => CREATED_MS + 60_000,
  });
  return { status, transitions };
}

describe('the status loop, over both kinds', () => {
  const requests = () => ({
    cluster: [unlockRequest('ur', { ticket: 'INC-1' }, [by('bob')])],
    local: [unlockRequest('lur', {}, [by('bob'), by('carol')], { local: NS })],
  });

  it("writes each request's status at its own kind's path", async () => {
    const server = apiserver(requests());
    await loop(server).status.tick();
    expect(server.patches.map((p) => [p.path, p.status.phase, p.status.approvals])).toEqual([
      ['/apis/bulwark.dev/v1alpha1/unlockrequests/ur/status', 'Pending', '1/2'],
      [`/apis/bulwark.dev/v1alpha1/namespaces/${NS}/localunlockrequests/lur/status`, 'Approved', '2/2'],
    ]);
    expect(server.patches[1]?.status).toMatchObject({
      expiresAt: '2026-11-25T10:30:00Z',
      observedGeneration: undefined,
    });
  });

  it('records each transition as Events on the request and on its target, and tells the notifier', async () => {
    const server = apiserver(requests());
    const { status, transitions } = loop(server);
    await status.tick();
    const events = server.posts.map((p) => ({
      path: p.path,
      kind: (p.body.involvedObject as { kind: string }).kind,
      reason: p.body.reason,
    }));
    expect(events).toEqual([
      { path: '/api/v1/namespaces/default/events', kind: 'UnlockRequest', reason: 'UnlockPending' },
      { path: `/api/v1/namespaces/${NS}/events`, kind: 'ConfigMap', reason: 'UnlockPending' },
      { path: `/api/v1/namespaces/${NS}/events`, kind: 'LocalUnlockRequest', reason: 'UnlockApproved' },
      { path: `/api/v1/namespaces/${NS}/events`, kind: 'ConfigMap', reason: 'UnlockApproved' },
    ]);
    expect(server.posts[0]?.body.message).toMatch(/^UnlockRequest ur by alice is Pending: .*\[ticket INC-1\]$/);
    expect(server.posts[2]?.body.message).toMatch(new RegExp(`^LocalUnlockRequest ${NS}/lur by alice is Approved`));
    expect(transitions[1]).toMatchObject({
      kind: 'UnlockRequestTransition',
      reason: 'UnlockApproved',
      unlockRequest: { kind: 'LocalUnlockRequest', namespace: NS, name: 'lur', uid: 'uid-lur' },
      from: null,
      phase: 'Approved',
      target: { apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: TARGET.metadata?.name },
      approvals: '2/2',
      emergency: false,
    });
  });

  it('writes nothing and tells nobody on a second pass with nothing changed', async () => {
    const server = apiserver(requests());
    const { status, transitions } = loop(server);
    await status.tick();
    const [patches, posts] = [server.patches.length, server.posts.length];
    await status.tick();
    expect([server.patches.length, server.posts.length, transitions.length]).toEqual([patches, posts, 2]);
  });

  it('a rejected request is Rejected, a Warning, and terminal', async () => {
    const rejected = unlockRequest('ur', { rejections: [by('carol')] }, [by('bob')]);
    const server = apiserver({ cluster: [rejected], local: [] });
    await loop(server).status.tick();
    expect(server.patches[0]?.status.phase).toBe('Rejected');
    expect(server.posts[0]?.body).toMatchObject({ type: 'Warning', reason: 'UnlockRejected' });
  });

  it('does nothing on a replica that does not lead', async () => {
    const server = apiserver(requests());
    await loop(server, false).status.tick();
    expect([server.patches, server.posts]).toEqual([[], []]);
  });
});
