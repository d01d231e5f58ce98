// The immutability rule end to end, as a user meets it: the real kubectl against a real
// kube-apiserver that calls Bulwark. Here: every way kubectl writes an object. Identical
// writes (the GitOps reapply) pass; any write that changes content is denied with a
// message naming the changed path, and the object is left as it was.

import { beforeAll, describe, expect, it } from 'vitest';
import { kubectl, newNamespace, type KubectlResult, type UserName } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import {
  configMap,
  create,
  expectAllowed,
  expectChangeDenied,
  expectDeleteDenied,
  expectUntouched,
  kubectlOn,
  stamp,
  stampAll,
  target,
  yaml,
  type Ref,
  type Stamp,
} from './helpers/immutability.ts';

const ORIGINAL = { color: 'blue', size: 'small' };
const CHANGED = { color: 'red', size: 'small' };

describe('kubectl apply of a locked ConfigMap', () => {
  let ns: string;
  let before: Map<string, Stamp>;
  const ref = (name: string): Ref => ({ resource: 'configmap', name, namespace: ns });
  const applyAs = (user: UserName, args: string[], manifest: object) =>
    kubectl(args, { user, namespace: ns, input: yaml(manifest) });

  // Made with kubectl apply (as alice), so that they carry kubectl's last-applied annotation.
  const APPLIED = ['changed', 'relabelled', 'identical', 'same-ssa', 'same-ssa-gitops', 'same-replace'];
  beforeAll(async () => {
    ns = await newNamespace('immut-apply');
    expectAllowed(
      await kubectl(['apply', '-f', '-'], {
        user: 'alice',
        input: yaml(...APPLIED.map((name) => configMap(ref(name), ORIGINAL))),
      }),
    );
    await create(configMap(ref('created'), ORIGINAL));
    before = await stampAll(ns, 'configmaps');
    expect([...before.values()].map((s) => s.content)).toEqual(
      Array(APPLIED.length + 1).fill(JSON.stringify(ORIGINAL)),
    );
  });

  it('denies a changed manifest, naming data.color (changed), and leaves the object unchanged', async () => {
    const result = await applyAs('alice', ['apply', '-f', '-'], configMap(ref('changed'), CHANGED));

    expectChangeDenied(result, target('ConfigMap', ref('changed')), 'data.color (changed)');
    expect(result.stderr).toContain('error when patching');
    const after = await expectUntouched(ref('changed'), before.get('changed'));
    expect(JSON.parse(after.content)).toMatchObject({ color: 'blue' });
  });

  it('denies a manifest that adds a label, naming metadata.labels.team (added)', async () => {
    const manifest = configMap(ref('relabelled'), ORIGINAL, { labels: { team: 'payments' } });

    expectChangeDenied(
      await applyAs('alice', ['apply', '-f', '-'], manifest),
      target('ConfigMap', ref('relabelled')),
      'metadata.labels.team (added)',
    );
    await expectUntouched(ref('relabelled'), before.get('relabelled'));
  });

  it('accepts the identical manifest: client-side apply finds no difference and sends nothing', async () => {
    const result = await applyAs('alice', ['apply', '-f', '-'], configMap(ref('identical'), ORIGINAL));

    expectAllowed(result);
    expect(result.stdout).toContain('configmap/identical unchanged');
    await expectUntouched(ref('identical'), before.get('identical'));
  });

  // These do send a write of the locked object: the webhook sees old and new objects that
  // differ at most in bookkeeping (managedFields, the last-applied annotation). Whether the
  // apiserver then stores anything (a new resourceVersion) is its business, so only uid and
  // content are compared.
  it.each([
    {
      how: 'kubectl apply --server-side',
      name: 'same-ssa',
      args: ['apply', '--server-side', '-f', '-'],
      prints: 'serverside-applied',
    },
    {
      how: 'kubectl apply --server-side --field-manager=gitops (a GitOps controller)',
      name: 'same-ssa-gitops',
      args: ['apply', '--server-side', '--field-manager=gitops', '-f', '-'],
      prints: 'serverside-applied',
    },
    { how: 'kubectl replace -f', name: 'same-replace', args: ['replace', '-f', '-'], prints: 'replaced' },
  ])('accepts the identical manifest sent with $how', async ({ name, args, prints }) => {
    const result = await applyAs('alice', args, configMap(ref(name), ORIGINAL));

    expectAllowed(result);
    expect(result.stdout).toContain(`configmap/${name} ${prints}`);
    const after = await stamp(ref(name));
    expect(after).toMatchObject({ uid: before.get(name)?.uid, content: JSON.stringify(ORIGINAL) });
  });

  it(
    'accepts the first kubectl apply of an object made by kubectl create (kubectl only adds its last-applied ' +
      'annotation)',
    async () => {
      const result = await applyAs('alice', ['apply', '-f', '-'], configMap(ref('created'), ORIGINAL));

      expectAllowed(result);
      expect(result.stderr).toContain('missing the kubectl.kubernetes.io/last-applied-configuration annotation');
      expect(result.stdout).toContain('configmap/created configured');
      expect(await stamp(ref('created'))).toMatchObject({
        uid: before.get('created')?.uid,
        content: JSON.stringify(ORIGINAL),
      });
    },
  );
});

describe('every other way kubectl writes a change to a locked ConfigMap is denied', () => {
  let ns: string;
  let before: Map<string, Stamp>;
  const ref = (i: number): Ref => ({ resource: 'configmap', name: `write-${i}`, namespace: ns });

  type Write = (ref: Ref, user: UserName) => Promise<KubectlResult>;
  const patch =
    (type: string, body: unknown): Write =>
    (ref, user) =>
      kubectlOn(ref, ['patch', 'configmap', ref.name, `--type=${type}`, '-p', JSON.stringify(body)], { user });

  const cases: { how: string; write: Write; denial: 'change' | 'delete'; changes?: string; user?: UserName }[] = [
    { how: 'kubectl patch (strategic merge)', write: patch('strategic', { data: { color: 'red' } }), denial: 'change' },
    { how: 'kubectl patch --type=merge', write: patch('merge', { data: { color: 'red' } }), denial: 'change' },
    {
      how: 'kubectl patch --type=json',
      write: patch('json', [{ op: 'replace', path: '/data/color', value: 'red' }]),
      denial: 'change',
    },
    {
      how: 'kubectl patch --type=json removing a key',
      write: patch('json', [{ op: 'remove', path: '/data/color' }]),
      denial: 'change',
      changes: 'data.color (removed)',
    },
    {
      how: 'an edit-style replace (kubectl get -o json | modify | kubectl replace -f -)',
      write: async (ref, user) => {
        const live = JSON.parse(
          await kubectlOk(kubectl, ['get', 'configmap', ref.name, '-o', 'json'], { user, namespace: ns }),
        ) as { data: Record<string, string> };
        live.data.color = 'red';
        return kubectlOn(ref, ['replace', '-f', '-'], { user, input: JSON.stringify(live) });
      },
      denial: 'change',
    },
    {
      how: 'kubectl apply --server-side --force-conflicts of a changed manifest',
      write: (ref, user) =>
        kubectlOn(ref, ['apply', '--server-side', '--force-conflicts', '-f', '-'], {
          user,
          input: yaml(configMap(ref, CHANGED)),
        }),
      denial: 'change',
    },
    {
      how: 'kubectl annotate',
      write: (ref, user) => kubectlOn(ref, ['annotate', 'configmap', ref.name, 'note=hello'], { user }),
      denial: 'change',
      changes: 'metadata.annotations.note (added)',
    },
    {
      // replace --force deletes, then creates: the delete is denied and nothing is recreated.
      how: 'kubectl replace --force -f of a changed manifest (the delete is denied; same uid afterwards)',
      write: (ref, user) =>
        kubectlOn(ref, ['replace', '--force', '-f', '-'], { user, input: yaml(configMap(ref, CHANGED)) }),
      denial: 'delete',
    },
    {
      how: 'kubectl patch as admin (system:masters)',
      write: patch('merge', { data: { color: 'red' } }),
      denial: 'change',
      user: 'admin',
    },
  ];

  beforeAll(async () => {
    ns = await newNamespace('immut-write');
    await create(...cases.map((_, i) => configMap(ref(i), ORIGINAL)));
    before = await stampAll(ns, 'configmaps');
  });

  it.each(cases.map((c, i) => ({ ...c, i })))('$how', async ({ write, denial, changes, user, i }) => {
    const result = await write(ref(i), user ?? 'alice');

    if (denial === 'delete') expectDeleteDenied(result, target('ConfigMap', ref(i)));
    else expectChangeDenied(result, target('ConfigMap', ref(i)), changes ?? 'data.color (changed)');
    const after = await expectUntouched(ref(i), before.get(ref(i).name));
    expect(after.content).toBe(JSON.stringify(ORIGINAL));
  });
});
