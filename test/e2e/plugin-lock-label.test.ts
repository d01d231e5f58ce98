// `kubectl bulwark lock` sets the label Bulwark reads: the one its webhook configuration
// selects on (a chart installed with another lockLabel), unless flags name it. Run
// in-process against the real apiserver, with a webhook configuration like the chart's
// whose webhook is never reached (failurePolicy Ignore, only this test's namespace).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lock, status } from '../../src/cli/plugin/commands.ts';
import { resolveLockLabel } from '../../src/cli/plugin/lock-label.ts';
import { plugin as runPlugin } from '../../src/cli/plugin/main.ts';
import { openSession, type Session } from '../../src/cli/plugin/session.ts';
import { e2eCluster, kubectl, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { joinedRegExp } from '../helpers/regexp.ts';

const FROZEN = { key: 'e2e.bulwark.dev/frozen', value: 'yes' };
const configurations: string[] = [];

/** A webhook configuration as the chart renders it for `lockLabel`, limited to namespace `ns`. */
async function chartLikeConfiguration(name: string, ns: string, label: { key: string; value: string }): Promise<void> {
  // JSON: kubectl reads YAML 1.1, where a label value such as `yes` or `on` is a boolean.
  await kubectlOk(kubectl, ['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name },
      webhooks: [
        {
          name: 'immutability.bulwark.dev',
          rules: [
            {
              apiGroups: [''],
              apiVersions: ['v1'],
              resources: ['configmaps'],
              operations: ['UPDATE', 'DELETE'],
              scope: 'Namespaced',
            },
          ],
          objectSelector: { matchLabels: { [label.key]: label.value } },
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
          clientConfig: { url: 'https://127.0.0.1:9/validate' },
          failurePolicy: 'Ignore',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          timeoutSeconds: 1,
        },
      ],
    }),
  });
  configurations.push(name);
}

async function removeConfigurations(): Promise<void> {
  if (configurations.length > 0)
    await kubectlOk(kubectl, ['delete', 'validatingwebhookconfiguration', ...configurations.splice(0)]);
}

let ns: string;
let session: Session;
const lines: string[] = [];
const notices: string[] = [];
const print = (line: string) => lines.push(line);
const notice = (line: string) => notices.push(line);

beforeAll(async () => {
  ns = await newNamespace('label');
  session = openSession({ kubeconfig: e2eCluster().kubeconfig, context: 'dave', namespace: ns });
  for (const name of ['a', 'b', 'c']) await kubectlOk(kubectl, ['create', 'configmap', name, '-n', ns]);
});

afterAll(removeConfigurations);

describe('the lock label of kubectl bulwark', () => {
  it('is the default where Bulwark is registered without a selector (the harness sends it everything)', async () => {
    expect(await resolveLockLabel(session, {}, notice)).toEqual({ key: 'bulwark.dev/immutable', value: 'true' });
    expect(notices).toEqual([]);
  });

  it("is read from Bulwark's webhook configuration: lock sets it, and status lists by it", async () => {
    await chartLikeConfiguration(`bulwark-label-${ns}`, ns, FROZEN);
    const label = await resolveLockLabel(session, {}, notice);
    expect(label).toEqual(FROZEN);
    await lock(session, 'configmap/a', print, label);
    expect(lines.pop()).toBe(
      `ConfigMap ${ns}/a is locked (e2e.bulwark.dev/frozen=yes): it can no longer be changed or deleted without ` +
        `an approved UnlockRequest`,
    );
    expect(await kubectlOk(kubectl, ['get', 'cm', 'a', '-n', ns, '-o', 'jsonpath={.metadata.labels}'])).toBe(
      '{"e2e.bulwark.dev/frozen":"yes"}',
    );
    await status(session, false, print, label);
    expect(lines.splice(0)).toEqual(
      expect.arrayContaining([
        `Locked (e2e.bulwark.dev/frozen=yes) in namespace ${ns} and cluster-wide:`,
        // With who locked it, once the audit has sealed it.
        expect.stringMatching(new RegExp(`^  ConfigMap ${ns}/a(, locked by .*)?$`)),
      ]),
    );
  });

  it('yields to --label-key and --label-value', async () => {
    const written: string[] = [];
    const stdout = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      const args = [
        'lock',
        'configmap/b',
        '-n',
        ns,
        '--kubeconfig',
        e2eCluster().kubeconfig,
        '--context',
        'dave',
        '--label-key',
        'example.com/sealed',
        '--label-value',
        'on',
      ];
      expect(await runPlugin(['node', 'kubectl-bulwark', ...args])).toBe(0);
    } finally {
      process.stdout.write = stdout;
    }
    expect(written.join('')).toContain(`ConfigMap ${ns}/b is locked (example.com/sealed=on)`);
    await expect(resolveLockLabel(session, { labelKey: 'not a key!' }, notice)).rejects.toThrow(
      '--label-key "not a key!" is not a label key',
    );
  });

  it('refuses to guess between two installations that lock with different labels', async () => {
    await chartLikeConfiguration(`bulwark-other-${ns}`, ns, { key: 'example.com/sealed', value: 'on' });
    await expect(resolveLockLabel(session, {}, notice)).rejects.toThrow(
      joinedRegExp(
        /select on different lock labels \(.*e2e\.bulwark\.dev\/frozen=yes.*example\.com\/sealed=on.*\)/,
        /: say which with --label-key and --label-value/,
      ),
    );
    await removeConfigurations();
    expect(await resolveLockLabel(session, {}, notice)).toEqual({ key: 'bulwark.dev/immutable', value: 'true' });
  });
});
