// Records the parts of the apiserver's OpenAPI v3 documents that the image extractor's
// coverage test reads (test/helpers/pod-schema.ts): the definitions of every kind that
// carries a PodSpec, in the groups that have such kinds. Called by capture-fixtures.ts.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlOk, type Kubectl } from '../harness/kubectl.ts';
import { REPO_ROOT } from '../harness/paths.ts';
import { podSpecHolders, trimForPodSpec, type OpenApiDocument } from '../test/helpers/pod-schema.ts';

export const POD_SCHEMAS_FILE = join(REPO_ROOT, 'test', 'fixtures', 'openapi', 'pod-schemas.json');

export async function capturePodSchemas(kubectl: Kubectl, file = POD_SCHEMAS_FILE): Promise<string[]> {
  const index = JSON.parse(await kubectlOk(kubectl, ['get', '--raw', '/openapi/v3'])) as {
    paths: Record<string, unknown>;
  };
  const version = JSON.parse(await kubectlOk(kubectl, ['get', '--raw', '/version'])) as { gitVersion: string };
  const documents: Record<string, OpenApiDocument> = {};
  for (const path of Object.keys(index.paths).filter((p) => /^apis?\/.+\/v[^/]*$|^api\/v1$/.test(p))) {
    const doc = JSON.parse(await kubectlOk(kubectl, ['get', '--raw', `/openapi/v3/${path}`])) as OpenApiDocument;
    if (podSpecHolders([doc]).size > 0) documents[path] = trimForPodSpec(doc, { podSpecFields: path === 'api/v1' });
  }
  writeFileSync(file, `${JSON.stringify({ apiserver: version.gitVersion, documents }, null, 1)}\n`);
  return Object.keys(documents);
}
