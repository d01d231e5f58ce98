// Generates the LocalUnlockRequest CRD (namespaced) from the UnlockRequest CRD (the source
// of truth): the same schema and columns under other names and scope, so that the two kinds
// cannot drift apart. `npm run generate` writes it; a unit test checks it is current.

import { join } from 'node:path';
import { stringify } from 'yaml';
import { CRD_DIR, readCrd, UNLOCK_KINDS } from '../src/policy/crds.ts';

export const LOCAL_UNLOCK_CRD_FILE = join(CRD_DIR, `${UNLOCK_KINDS.LocalUnlockRequest.plural}.bulwark.dev.yaml`);

const HEADER =
  '# LocalUnlockRequest: an UnlockRequest that lives in the namespace of its target, so that a\n' +
  "# team's RoleBinding lets it ask for, see and approve its own requests and no one else's.\n" +
  '# Generated from unlockrequests.bulwark.dev.yaml by scripts/local-unlock-crd.ts (npm run generate).\n';

export function renderLocalUnlockCrd(): string {
  const crd = readCrd('UnlockRequest') as unknown as {
    metadata: { name: string };
    spec: {
      scope: string;
      names: Record<string, unknown>;
      versions: { additionalPrinterColumns?: { name: string }[] }[];
    };
  };
  const { plural } = UNLOCK_KINDS.LocalUnlockRequest;
  crd.metadata.name = `${plural}.bulwark.dev`;
  crd.spec.scope = 'Namespaced';
  crd.spec.names = {
    kind: 'LocalUnlockRequest',
    listKind: 'LocalUnlockRequestList',
    plural,
    singular: 'localunlockrequest',
    shortNames: ['lur', 'localunlock'],
    categories: ['bulwark'],
  };
  // The target's namespace is the request's own: kubectl shows it already.
  for (const version of crd.spec.versions)
    version.additionalPrinterColumns = (version.additionalPrinterColumns ?? []).filter((c) => c.name !== 'Namespace');
  return HEADER + stringify(crd, { lineWidth: 0 });
}
