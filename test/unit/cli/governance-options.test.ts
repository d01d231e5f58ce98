// Configuration and plugin input for governance: who the policy admins are, and the
// operations an UnlockRequest may name.

import { describe, expect, it } from 'vitest';
import { toOverrides } from '../../../src/cli/options.ts';
import { parseOperations } from '../../../src/cli/plugin/commands.ts';
import { policyAdminsOf } from '../../../src/config/default-policy.ts';
import { loadConfig } from '../../../src/config/load.ts';

describe('policy admins', () => {
  it('default to the cluster admins (system:masters)', async () => {
    const admins = policyAdminsOf(await loadConfig({}));
    expect([...admins.groups]).toEqual(['system:masters']);
    expect([...admins.users]).toEqual([]);
  });

  it('come from --policy-admin-groups and --policy-admin-users; an empty flag means nobody', async () => {
    const config = await loadConfig({
      overrides: toOverrides({
        policyAdminGroups: 'platform, sre',
        policyAdminUsers: 'system:serviceaccount:argocd:controller',
      }),
    });
    expect(config.policyAdmins).toEqual({
      groups: ['platform', 'sre'],
      users: ['system:serviceaccount:argocd:controller'],
    });
    expect((await loadConfig({ overrides: toOverrides({ policyAdminGroups: '' }) })).policyAdmins.groups).toEqual([]);
  });
});

describe('kubectl bulwark unlock request --operation', () => {
  it('accepts UPDATE, DELETE and Unlabel in any case, spelled as the CRD spells them', () => {
    expect(parseOperations(['update', 'DELETE', 'unlabel'])).toEqual(['UPDATE', 'DELETE', 'Unlabel']);
  });

  it('refuses anything else, naming the choices', () => {
    expect(() => parseOperations(['PATCH'])).toThrow('--operation "PATCH" is not one of UPDATE, DELETE, Unlabel');
  });
});
