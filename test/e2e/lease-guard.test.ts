// The Lease bulwark-controllers elects the replica that runs Bulwark's loops: whoever holds it
// pauses the seal, audit and status loops. The chart's ValidatingAdmissionPolicy (templates/
// lease-guard.yaml), rendered with the real helm for a namespace of this test and applied to
// the real apiserver: a cluster admin cannot create, renew or delete it; Bulwark's service
// account can; the namespace controller may delete it (a deleted namespace must not hang);
// other Leases are untouched. Identities are impersonated by admin, in group system:masters
// so that RBAC lets them and only the policy decides.

import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, newNamespace } from '../../harness/context.ts';
import { renderChart } from '../../harness/helm-template.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { until } from './helpers/plugin.ts';

let ns: string;
let bulwark: string[];
const NAMESPACE_CONTROLLER = [
  '--as=system:serviceaccount:kube-system:namespace-controller',
  '--as-group=system:masters',
];

// A Lease's times are MicroTime: six fractional digits.
const microTime = () => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
const lease = (name: string, holder: string) =>
  stringify({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: ns },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: microTime() },
  });
const create = (name: string, as: string[] = []) =>
  kubectl(['create', '-f', '-', ...as], { input: lease(name, as[0] ?? 'admin') });
const renew = (as: string[] = []) =>
  kubectl([
    'patch',
    'lease',
    'bulwark-controllers',
    '-n',
    ns,
    '--type=merge',
    '-p',
    JSON.stringify({ spec: { holderIdentity: 'someone', renewTime: microTime() } }),
    ...as,
  ]);
const DENIAL = "Bulwark's Lease bulwark-controllers elects the replica that runs its seal, audit and status loops";

beforeAll(async () => {
  ns = await newNamespace('lease');
  const stdout = await renderChart({
    namespace: ns,
    set: [`fullnameOverride=${ns}`],
    showOnly: ['templates/lease-guard.yaml'],
  });
  const serviceAccount = new RegExp(`system:serviceaccount:${ns}:[a-z0-9-]+`).exec(stdout)![0];
  bulwark = [`--as=${serviceAccount}`, '--as-group=system:masters'];
  await kubectlOk(kubectl, ['apply', '-f', '-'], { input: stdout });
  // Admission policies are loaded asynchronously: wait until the admin's create is refused.
  await until(async () => (await create('bulwark-controllers', ['--dry-run=server'])).stderr.includes(DENIAL), 30_000);
});

describe("Bulwark's Lease", () => {
  it('a cluster admin cannot create it, and is told why', async () => {
    const r = await create('bulwark-controllers');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${DENIAL}: only ${bulwark[0]!.slice(5)} may write it`);
    expect(r.stderr).toContain('not admin');
  });

  it("Bulwark's service account creates and renews it; the admin can neither renew nor delete it", async () => {
    await kubectlOk(kubectl, ['create', '-f', '-', ...bulwark], { input: lease('bulwark-controllers', 'bulwark-0') });
    const renewed = await renew(bulwark);
    expect(renewed.code, renewed.stderr).toBe(0);
    expect((await renew()).stderr).toContain(DENIAL);
    const del = await kubectl(['delete', 'lease', 'bulwark-controllers', '-n', ns]);
    expect(del.stderr).toContain(DENIAL);
  });

  it('other Leases in the namespace stay free to write', async () => {
    expect((await create('something-else')).code).toBe(0);
  });

  it('the namespace controller may delete it, so that a deleted namespace does not hang', async () => {
    expect((await renew(NAMESPACE_CONTROLLER)).stderr).toContain(DENIAL);
    await kubectlOk(kubectl, ['delete', 'lease', 'bulwark-controllers', '-n', ns, ...NAMESPACE_CONTROLLER]);
  });
});
