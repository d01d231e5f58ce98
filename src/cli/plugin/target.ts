// `KIND/NAME` as a person types it, resolved through discovery to an API path.

import type { ApiResource } from '../../cluster/discovery.ts';
import { resourcePath } from '../../cluster/discovery.ts';
import { BaseError } from '../../errors.ts';
import type { Session } from './session.ts';

export interface ResolvedTarget {
  resource: ApiResource;
  apiVersion: string;
  namespace?: string;
  name: string;
  path: string;
}

export async function resolveTarget(session: Session, typed: string): Promise<ResolvedTarget> {
  const slash = typed.indexOf('/');
  if (slash <= 0 || slash === typed.length - 1)
    throw new BaseError(
      'CLI_USAGE',
      `expected KIND/NAME (for example configmap/app-config), got ${JSON.stringify(typed)}`,
    );
  const kind = typed.slice(0, slash);
  const name = typed.slice(slash + 1);
  const resource = await session.discovery.resolve(kind);
  if (!resource) throw new BaseError('CLI_USAGE', `the server has no resource type ${JSON.stringify(kind)}`);
  const namespace = resource.namespaced ? session.namespace : undefined;
  return {
    resource,
    apiVersion: resource.group ? `${resource.group}/${resource.version}` : resource.version,
    ...(namespace ? { namespace } : {}),
    name,
    path: resourcePath(resource, namespace, name),
  };
}

export function describeTarget(t: ResolvedTarget): string {
  return `${t.resource.kind} ${t.namespace ? `${t.namespace}/` : ''}${t.name}`;
}
