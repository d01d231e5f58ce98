// Locked workloads under the real controllers, kubelet and scheduler.
//
// A locked Deployment keeps running as it is and cannot be scaled, restarted or re-imaged.
// A pod template carrying the lock label locks every object made from it (the ReplicaSet
// gets the template's labels, and so does each Pod): their content is locked, their
// lifecycle belongs to their controllers. So the ReplicaSet still scales and is replaced,
// pods are deleted by their controller and evicted by a node drain (the owner replaces
// them), the kubelet writes their status, and nothing wedges; a person still cannot
// delete or edit one by hand.

import { describe, expect, it } from 'vitest';
import { kubectlOk } from '../../harness/kubectl.ts';
import { isImmutabilityDenial, kubectl, kubectlJson, newNamespace, until } from './context.ts';
import { apply, deployment, exitingContainer, helloContainer, LOCK, readyPods } from './workloads.ts';

const NODE = 'bulwark-node';

describe('a locked Deployment', () => {
  it('keeps its ReplicaSet and pods running, and cannot be scaled, restarted or re-imaged', async () => {
    const ns = await newNamespace('locked-deploy');
    await apply(deployment(ns, 'web', 2, { locked: true }));
    const before = await readyPods(ns, 'app=web', 2);
    for (const [what, args] of [
      ['scale', ['scale', 'deployment/web', '--replicas=3']],
      ['restart', ['rollout', 'restart', 'deployment/web']],
      ['re-image', ['set', 'image', 'deployment/web', 'hello=bulwark.local/e2e/hello:2']],
    ] as const) {
      const r = await kubectl([...args, '-n', ns], { user: 'alice' });
      expect(r.code, `${what} went through`).not.toBe(0);
      expect(isImmutabilityDenial(r), r.stderr).toBe(true);
    }
    // Nothing moved: the same pods, one ReplicaSet, the spec as applied.
    expect(await readyPods(ns, 'app=web', 2)).toEqual(before);
    const rs = await kubectlJson<{ items: unknown[] }>(['get', 'replicasets', '-n', ns]);
    expect(rs.items).toHaveLength(1);
  });
});

describe('a pod template carrying the lock label', () => {
  it('locks the ReplicaSet and every pod against people, while the kubelet writes their status', async () => {
    const ns = await newNamespace('locked-tmpl');
    await apply(deployment(ns, 'web', 2, { lockedTemplate: true }));
    const [pod] = await readyPods(ns, 'app=web', 2); // Ready: the kubelet's status writes went through
    const labels = await kubectlJson<{ items: { metadata: { labels: Record<string, string> } }[] }>([
      'get',
      'replicasets,pods',
      '-n',
      ns,
    ]);
    for (const item of labels.items) expect(item.metadata.labels).toMatchObject(LOCK);

    const relabel = await kubectl(['label', 'pod', pod!, '-n', ns, 'app=stolen', '--overwrite'], { user: 'alice' });
    expect(isImmutabilityDenial(relabel), relabel.stderr).toBe(true);
    const remove = await kubectl(['delete', 'pod', pod!, '-n', ns, '--wait=false'], { user: 'alice' });
    expect(isImmutabilityDenial(remove), remove.stderr).toBe(true);
    expect(remove.stderr).toMatch(/it is a replica of ReplicaSet web-\w+, which replaces it: evict it instead/);
  });

  it(
    'scales up and down and rolls out: the ReplicaSets ' + 'follow the Deployment and the pods go away completely',
    async () => {
      const ns = await newNamespace('locked-tmpl');
      await apply(deployment(ns, 'web', 3, { lockedTemplate: true }));
      await readyPods(ns, 'app=web', 3);
      await kubectlOk(kubectl, ['scale', 'deployment/web', '-n', ns, '--replicas=1'], { user: 'alice' });
      await readyPods(ns, 'app=web', 1);
      await kubectlOk(kubectl, ['rollout', 'restart', 'deployment/web', '-n', ns], { user: 'alice' });
      const rollout = await kubectl(['rollout', 'status', 'deployment/web', '-n', ns, '--timeout=120s'], {
        timeoutMs: 130_000,
      });
      expect(rollout.code, rollout.stderr).toBe(0);
      await readyPods(ns, 'app=web', 1);
      const sets = await kubectlJson<{ items: { spec: { replicas: number } }[] }>(['get', 'replicasets', '-n', ns]);
      expect(sets.items.map((s) => s.spec.replicas).sort()).toEqual([0, 1]);
    },
  );

  it('lets a node drain evict its pods, which come back once the node is schedulable again', async () => {
    const ns = await newNamespace('locked-drain');
    await apply(deployment(ns, 'web', 2, { lockedTemplate: true }));
    const before = await readyPods(ns, 'app=web', 2);
    try {
      const drain = await kubectl(['drain', NODE, `--pod-selector=app=web`, '--timeout=90s'], { timeoutMs: 100_000 });
      expect(drain.code, drain.stderr).toBe(0);
      expect(drain.stdout).toContain('evicted');
    } finally {
      await kubectlOk(kubectl, ['uncordon', NODE]);
    }
    const after = await readyPods(ns, 'app=web', 2);
    expect(after.filter((p) => before.includes(p))).toEqual([]);
  });

  it(
    'fails a drain at once, naming the pod and the way out, ' + 'when a locked pod has no controller to bring it back',
    async () => {
      const ns = await newNamespace('locked-bare');
      await apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'bare', namespace: ns, labels: { app: 'bare', ...LOCK } },
        spec: { terminationGracePeriodSeconds: 1, containers: [helloContainer()] },
      });
      await readyPods(ns, 'app=bare', 1);
      const started = Date.now();
      try {
        const drain = await kubectl(['drain', NODE, '--pod-selector=app=bare', '--force', '--timeout=60s'], {
          timeoutMs: 70_000,
        });
        expect(drain.code).not.toBe(0);
        expect(drain.stderr).toContain(`Pod ${ns}/bare is locked`);
        expect(drain.stderr).toContain('no controller owns it, so nothing would bring it back');
        expect(Date.now() - started).toBeLessThan(30_000);
      } finally {
        await kubectlOk(kubectl, ['uncordon', NODE]);
      }
      await readyPods(ns, 'app=bare', 1);
    },
  );
});

describe('other controllers with locked templates', () => {
  it('a StatefulSet scales down and a DaemonSet rolls out a new template', async () => {
    const ns = await newNamespace('locked-sets');
    const template = (app: string) => ({
      metadata: { labels: { app, ...LOCK } },
      spec: { terminationGracePeriodSeconds: 1, containers: [helloContainer()] },
    });
    await apply(
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace: ns },
        spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: template('db') },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'agent', namespace: ns },
        spec: { selector: { matchLabels: { app: 'agent' } }, template: template('agent') },
      },
    );
    await readyPods(ns, 'app=db', 2);
    const [agent] = await readyPods(ns, 'app=agent', 1);
    await kubectlOk(kubectl, ['scale', 'statefulset/db', '-n', ns, '--replicas=1']);
    expect(await readyPods(ns, 'app=db', 1)).toEqual(['db-0']);
    await kubectlOk(kubectl, [
      'patch',
      'daemonset/agent',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { template: { metadata: { annotations: { rev: '2' } } } } }),
    ]);
    const rollout = await kubectl(['rollout', 'status', 'daemonset/agent', '-n', ns, '--timeout=90s'], {
      timeoutMs: 100_000,
    });
    expect(rollout.code, rollout.stderr).toBe(0);
    const [next] = await readyPods(ns, 'app=agent', 1);
    expect(next).not.toBe(agent);
  });

  it('a Job whose pods are locked completes (the job controller removes its tracking finalizer)', async () => {
    const ns = await newNamespace('locked-job');
    await apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'task', namespace: ns },
      spec: {
        template: { metadata: { labels: LOCK }, spec: { restartPolicy: 'Never', containers: [exitingContainer()] } },
      },
    });
    await until(
      'the Job is Complete',
      async () => {
        const job = await kubectlJson<{
          status: { succeeded?: number; conditions?: { type: string; status: string }[] };
        }>(['get', 'job', 'task', '-n', ns]);
        return job.status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? true : undefined;
      },
      120_000,
    );
    const pods = await kubectlJson<{
      items: { metadata: { finalizers?: string[]; labels: Record<string, string> } }[];
    }>(['get', 'pods', '-n', ns]);
    expect(pods.items).toHaveLength(1);
    expect(pods.items[0]?.metadata.labels).toMatchObject(LOCK);
    expect(pods.items[0]?.metadata.finalizers ?? []).toEqual([]);
  });
});
