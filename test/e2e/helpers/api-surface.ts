// What every resource and subresource kube-apiserver 1.36 serves can change on a locked
// object, and how Bulwark judges it. api-surface.test.ts reads discovery from the real
// apiserver and fails on anything served that is not classified here; the README's
// tables say the same for users.

/**
 * - `parent-diff`: an UPDATE whose object is the parent itself; the apiserver keeps only
 *   some of it (status, spec.finalizers, resources, approval conditions), and Bulwark
 *   judges the whole new object against the old one with the ordinary diff.
 * - `via-parent`: the request carries another object (Scale, Eviction, Binding); Bulwark
 *   reads the parent and judges the effect on it.
 * - `no-write`: nothing of the object is written: a token issued, a stream opened, a
 *   request proxied to what runs, a log read.
 */
export type SubresourceClass = 'parent-diff' | 'via-parent' | 'no-write';

export interface Subresource {
  class: SubresourceClass;
  /** The resources serving it; undefined: any (custom resources may have it too). */
  of?: readonly string[];
  /** What it can change on a locked object. */
  changes: string;
  /** Where its behaviour on a locked object is tested. */
  tested: string;
}

export const SUBRESOURCES: Readonly<Record<string, Subresource>> = {
  status: {
    class: 'parent-diff',
    changes: 'status only (the apiserver resets the rest; a Namespace keeps label changes, judged as relabelling)',
    tested: 'immutability-kinds.test.ts',
  },
  scale: { class: 'via-parent', changes: 'spec.replicas', tested: 'immutability-kinds.test.ts' },
  finalize: {
    class: 'parent-diff',
    of: ['namespaces'],
    changes: 'spec.finalizers (and labels, judged as relabelling)',
    tested: 'api-surface.test.ts',
  },
  ephemeralcontainers: {
    class: 'parent-diff',
    of: ['pods'],
    changes: 'spec.ephemeralContainers',
    tested: 'immutability-lifecycle.test.ts',
  },
  resize: { class: 'parent-diff', of: ['pods'], changes: 'spec.containers[].resources', tested: 'api-surface.test.ts' },
  approval: {
    class: 'parent-diff',
    of: ['certificatesigningrequests'],
    changes: 'status.conditions (Approved, Denied) and metadata',
    tested: 'api-surface.test.ts',
  },
  binding: {
    class: 'via-parent',
    of: ['pods'],
    changes: 'the node, and annotations and labels copied from the Binding',
    tested: 'immutability-binding.test.ts',
  },
  eviction: { class: 'via-parent', of: ['pods'], changes: 'deletes the pod', tested: 'immutability-lifecycle.test.ts' },
  token: {
    class: 'no-write',
    of: ['serviceaccounts'],
    changes: 'nothing: a token is issued, the ServiceAccount is not written',
    tested: 'api-surface.test.ts',
  },
  exec: {
    class: 'no-write',
    of: ['pods'],
    changes: 'nothing of the object: a stream into a running container',
    tested: 'api-surface.test.ts',
  },
  attach: {
    class: 'no-write',
    of: ['pods'],
    changes: 'nothing of the object: a stream into a running container',
    tested: 'api-surface.test.ts',
  },
  portforward: {
    class: 'no-write',
    of: ['pods'],
    changes: 'nothing of the object: a connection to a running container',
    tested: 'api-surface.test.ts',
  },
  proxy: {
    class: 'no-write',
    of: ['pods', 'services', 'nodes'],
    changes: 'nothing of the object: requests are proxied to what runs',
    tested: 'api-surface.test.ts',
  },
  log: { class: 'no-write', of: ['pods'], changes: 'nothing: read only', tested: 'api-surface.test.ts' },
};

/** Top-level resources that store nothing, or store nothing of their own: what they can do to a locked object. */
export const VIRTUAL_RESOURCES: Readonly<Record<string, string>> = {
  bindings: 'the older form of pods/binding: judged by what it writes onto the pod',
  componentstatuses: 'read only',
  tokenreviews: 'a question answered, nothing stored',
  selfsubjectreviews: 'a question answered, nothing stored',
  subjectaccessreviews: 'a question answered, nothing stored',
  selfsubjectaccessreviews: 'a question answered, nothing stored',
  localsubjectaccessreviews: 'a question answered, nothing stored',
  selfsubjectrulesreviews: 'a question answered, nothing stored',
};

/**
 * Persisted resources whose writes change how other objects read, or what protects them:
 * each is guarded (`group/resource`, with how).
 */
export const INDIRECT_RESOURCES: Readonly<Record<string, string>> = {
  '/namespaces': 'label changes judged as relabelling; DELETE guarded while locked objects remain',
  'apiextensions.k8s.io/customresourcedefinitions':
    'DELETE, and UPDATEs that change how objects read, guarded while locked objects remain',
  'apiregistration.k8s.io/apiservices':
    'routing a group/version to another server guarded while locked objects of the group remain',
  'admissionregistration.k8s.io/validatingwebhookconfigurations': 'Bulwark`s own: self-protection (policy admins only)',
  'admissionregistration.k8s.io/mutatingwebhookconfigurations':
    'mutation runs before validation: Bulwark judges the mutated object',
  'admissionregistration.k8s.io/validatingadmissionpolicies': 'exempt from admission: RBAC only',
  'admissionregistration.k8s.io/validatingadmissionpolicybindings': 'exempt from admission: RBAC only',
  'admissionregistration.k8s.io/mutatingadmissionpolicies':
    'exempt from admission: RBAC only; their mutations are judged like a webhook`s',
  'admissionregistration.k8s.io/mutatingadmissionpolicybindings': 'exempt from admission: RBAC only',
  'bulwark.dev/immutabilitypolicies': 'policy admins only; loosening needs an approved UnlockRequest',
  'bulwark.dev/imagepolicies': 'policy admins only; loosening needs an approved UnlockRequest',
  'bulwark.dev/unlockrequests': 'checked when written, re-checked when used',
  'bulwark.dev/localunlockrequests': 'checked when written, re-checked when used; only targets in their namespace',
  'bulwark.dev/seals': "written by Bulwark's audit loop; an edited seal fails its HMAC and is reported as drift",
};

export interface Served {
  group: string;
  version: string;
  /** `pods` or `pods/exec`. */
  name: string;
  verbs: readonly string[];
}

/** What is not classified: a subresource unknown (or on a resource not listed for it), a virtual resource unknown. */
export function unclassified(served: readonly Served[]): string[] {
  const missing = new Set<string>();
  for (const s of served) {
    const at = `${s.group || 'core'}/${s.version} ${s.name}`;
    const [resource = '', sub] = s.name.split('/');
    if (sub !== undefined) {
      const known = SUBRESOURCES[sub];
      if (!known || (known.of && !known.of.includes(resource))) missing.add(at);
    } else if (!s.verbs.includes('update') && !s.verbs.includes('delete') && !(resource in VIRTUAL_RESOURCES)) {
      missing.add(at);
    }
  }
  return [...missing].sort();
}
