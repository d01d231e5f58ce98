// What Kubernetes' own controllers must still do to locked objects, by identity and exactly.
//
// Two kinds of object carry the lock label without anyone having locked them one by one:
// objects a controller derives from a locked template or Service (a pod template's labels
// go onto its ReplicaSet and Pods, a Job template's onto the Job, a Service's onto its
// EndpointSlices and Endpoints), and objects locked at creation that a controller has yet
// to finish (a claim the volume binder binds, a LoadBalancer Service the service controller
// takes charge of). Denying those writes wedges the workload: a ReplicaSet that never
// scales, a Job never complete, a Service without endpoints, a claim Pending forever.
//
// Each carve-out names the controller's service account (kube-controller-manager's
// per-controller credentials, or its shared identity) and admits only what that controller
// writes there. A derived object's content stays locked against everyone else; its
// existence follows its owner. Only admins can act as these identities.

import type { AdmissionRequest, KubeObject } from '../../admission/types.ts';
import { encodePointerSegment } from '../../diff/pointer.ts';

const SHARED_IDENTITY = 'system:kube-controller-manager';
const serviceAccount = (name: string) => `system:serviceaccount:kube-system:${name}`;
export const GARBAGE_COLLECTOR = serviceAccount('generic-garbage-collector');

/** Whether `username` is kube-controller-manager's `controller`, under its own account or the shared one. */
function isController(username: string | undefined, controller: string): boolean {
  return username === serviceAccount(controller) || username === SHARED_IDENTITY;
}

interface GroupKind {
  group: string;
  kind: string;
}

export function groupKindOf(object: KubeObject, fallback: GroupKind): GroupKind {
  const apiVersion = object.apiVersion;
  const group =
    apiVersion === undefined
      ? fallback.group
      : apiVersion.includes('/')
        ? apiVersion.slice(0, apiVersion.indexOf('/'))
        : '';
  return { group, kind: object.kind ?? fallback.kind };
}

/** A derived kind, the owner kind it is made from, and the controller that makes it. */
interface Derivation {
  group: string;
  kind: string;
  ownerGroup: string;
  ownerKind: string;
  controller: string;
}

const DERIVATIONS: readonly Derivation[] = [
  { group: '', kind: 'Pod', ownerGroup: 'apps', ownerKind: 'ReplicaSet', controller: 'replicaset-controller' },
  { group: '', kind: 'Pod', ownerGroup: '', ownerKind: 'ReplicationController', controller: 'replication-controller' },
  { group: '', kind: 'Pod', ownerGroup: 'apps', ownerKind: 'StatefulSet', controller: 'statefulset-controller' },
  { group: '', kind: 'Pod', ownerGroup: 'apps', ownerKind: 'DaemonSet', controller: 'daemon-set-controller' },
  { group: '', kind: 'Pod', ownerGroup: 'batch', ownerKind: 'Job', controller: 'job-controller' },
  {
    group: 'apps',
    kind: 'ReplicaSet',
    ownerGroup: 'apps',
    ownerKind: 'Deployment',
    controller: 'deployment-controller',
  },
  { group: 'batch', kind: 'Job', ownerGroup: 'batch', ownerKind: 'CronJob', controller: 'cronjob-controller' },
  {
    group: 'apps',
    kind: 'ControllerRevision',
    ownerGroup: 'apps',
    ownerKind: 'StatefulSet',
    controller: 'statefulset-controller',
  },
  {
    group: 'apps',
    kind: 'ControllerRevision',
    ownerGroup: 'apps',
    ownerKind: 'DaemonSet',
    controller: 'daemon-set-controller',
  },
  {
    group: 'discovery.k8s.io',
    kind: 'EndpointSlice',
    ownerGroup: '',
    ownerKind: 'Service',
    controller: 'endpointslice-controller',
  },
];

export interface DerivedFrom {
  ownerKind: string;
  ownerName: string;
  controller: string;
}

/** The owner a controller made `object` from: its controller ownerReference, when of a kind that derives it. */
export function derivedFrom(object: KubeObject, gk: GroupKind): DerivedFrom | undefined {
  for (const ref of object.metadata?.ownerReferences ?? []) {
    const owner = ref as { apiVersion?: unknown; kind?: unknown; name?: unknown; controller?: unknown };
    if (owner.controller !== true || typeof owner.apiVersion !== 'string' || typeof owner.kind !== 'string') continue;
    const ownerGroup = owner.apiVersion.includes('/') ? owner.apiVersion.slice(0, owner.apiVersion.indexOf('/')) : '';
    const row = DERIVATIONS.find(
      (d) => d.group === gk.group && d.kind === gk.kind && d.ownerGroup === ownerGroup && d.ownerKind === owner.kind,
    );
    if (row) return { ownerKind: row.ownerKind, ownerName: String(owner.name ?? ''), controller: row.controller };
  }
  return undefined;
}

/** Views a controller keeps of a Service (its endpoints): written by that controller only. */
const SERVICE_VIEWS: readonly (GroupKind & { controllers: readonly string[] })[] = [
  {
    group: 'discovery.k8s.io',
    kind: 'EndpointSlice',
    controllers: ['endpointslice-controller', 'endpointslicemirroring-controller'],
  },
  { group: '', kind: 'Endpoints', controllers: ['endpoint-controller'] },
];

function maintainsView(username: string | undefined, gk: GroupKind): boolean {
  const view = SERVICE_VIEWS.find((v) => v.group === gk.group && v.kind === gk.kind);
  return view?.controllers.some((c) => isController(username, c)) === true;
}

/**
 * The last delete of a pod whose deletion was admitted: the kubelet of its own node (after the
 * containers stopped) or the pod garbage collector (its node is gone). Anyone else's second delete
 * of a locked object is a delete like the first (it could shorten a grace period or change the
 * propagation policy), and is judged as one.
 */
function finishesTermination(username: string | undefined, object: KubeObject, gk: GroupKind): boolean {
  if (gk.group !== '' || gk.kind !== 'Pod') return false;
  const nodeName = (object.spec as { nodeName?: unknown } | undefined)?.nodeName;
  if (typeof nodeName === 'string' && nodeName !== '' && username === `system:node:${nodeName}`) return true;
  return isController(username, 'pod-garbage-collector');
}

/**
 * Why deleting the locked `object` is its lifecycle rather than a change, or undefined.
 * `eviction`: the request is an Eviction (which respects PodDisruptionBudgets).
 */
export function lifecycleDeletion(
  request: AdmissionRequest,
  object: KubeObject,
  eviction: boolean,
): string | undefined {
  const username = request.userInfo.username;
  const gk = groupKindOf(object, request.kind);
  if (object.metadata?.deletionTimestamp && finishesTermination(username, object, gk)) {
    return 'it is already being deleted (its deletion was admitted before) and its node finishes it';
  }
  const owner = derivedFrom(object, gk);
  if (owner) {
    const of = `${owner.ownerKind} ${owner.ownerName}`;
    if (eviction && gk.kind === 'Pod')
      return `it is a replica of ${of}, which replaces it; PodDisruptionBudgets limit evictions`;
    if (isController(username, owner.controller))
      return `${of}'s controller (${owner.controller}) manages its replicas`;
    if (isController(username, 'generic-garbage-collector'))
      return `it was made from ${of}, and the garbage collector removes what its owner no longer holds`;
    // Taint-based eviction runs under the node controller's account; pod GC removes pods of vanished nodes.
    if (
      gk.kind === 'Pod' &&
      (isController(username, 'node-controller') || isController(username, 'pod-garbage-collector'))
    ) {
      return `it is a replica of ${of}, which replaces it, and its node is failing or gone`;
    }
  }
  if (maintainsView(username, gk)) return "its Service's endpoints controller maintains it";
  if (
    gk.group === 'batch' &&
    gk.kind === 'Job' &&
    isController(username, 'ttl-after-finished-controller') &&
    (object.spec as { ttlSecondsAfterFinished?: unknown } | undefined)?.ttlSecondsAfterFinished !== undefined
  ) {
    return 'its own spec.ttlSecondsAfterFinished asks for it';
  }
  return undefined;
}

/** A hint for people whose delete of a locked pod is denied. */
export function deletionHint(request: AdmissionRequest, object: KubeObject, eviction: boolean): string {
  const gk = groupKindOf(object, request.kind);
  if (gk.group !== '' || gk.kind !== 'Pod') return '';
  const owner = derivedFrom(object, gk);
  if (owner)
    return (
      `; it is a replica of ${owner.ownerKind} ${owner.ownerName}, which replaces it: evict it instead ` +
      '(kubectl drain, or the Eviction API), which PodDisruptionBudgets limit'
    );
  return eviction
    ? '; no controller owns it, so nothing would bring it back: it can be removed only through an approved ' +
        'UnlockRequest (operation DELETE)'
    : '';
}

// ---- updates --------------------------------------------------------------------------

const annotation = (key: string) => `/metadata/annotations/${encodePointerSegment(key)}`;

type Json = Record<string, unknown>;
const at = (object: KubeObject, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Json)[k] : undefined), object);
const annotations = (object: KubeObject) => object.metadata?.annotations ?? {};
const finalizers = (object: KubeObject) => (object.metadata?.finalizers ?? []).map(String);
const nonEmptyString = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** Whether `after` is `before` with `finalizer` removed (`'remove'`) or added (`'add'`), and nothing else. */
function finalizerOnly(
  before: readonly string[],
  after: readonly string[],
  finalizer: string,
  how: 'add' | 'remove' | 'either',
): boolean {
  const without = (list: readonly string[]) => list.filter((f) => f !== finalizer).join('\n');
  if (without(before) !== without(after)) return false;
  const had = before.includes(finalizer);
  const has = after.includes(finalizer);
  if (how === 'remove') return had && !has;
  if (how === 'add') return !had && has;
  return had !== has;
}

/** Annotation keys the volume binder adds to a claim with the value "yes". */
const CLAIM_BIND_MARKS = ['pv.kubernetes.io/bind-completed', 'pv.kubernetes.io/bound-by-controller'];
/**
 * Annotations naming the provisioner of a claim waiting for a volume (both spellings), and the CSI
 * driver an in-tree one migrated to.
 */
const CLAIM_PROVISIONER_KEYS = [
  'volume.kubernetes.io/storage-provisioner',
  'volume.beta.kubernetes.io/storage-provisioner',
  'pv.kubernetes.io/migrated-to',
];

/** The volume binder completing a claim: the volume's name set once, its marks added, the provisioner named. */
function claimBinding(oldObject: KubeObject, newObject: KubeObject): string[] {
  const covered: string[] = [];
  const was = at(oldObject, 'spec', 'volumeName');
  if ((was === undefined || was === '') && nonEmptyString(at(newObject, 'spec', 'volumeName')))
    covered.push('/spec/volumeName');
  for (const key of CLAIM_BIND_MARKS) {
    if (annotations(oldObject)[key] === undefined && annotations(newObject)[key] === 'yes')
      covered.push(annotation(key));
  }
  for (const key of CLAIM_PROVISIONER_KEYS) {
    const value = annotations(newObject)[key];
    if (value === undefined || nonEmptyString(value)) covered.push(annotation(key));
  }
  return covered;
}

/** The volume binder completing a volume: its claimRef set (or a pre-bound one completed), its mark added. */
function volumeBinding(oldObject: KubeObject, newObject: KubeObject): string[] {
  const covered: string[] = [];
  const before = at(oldObject, 'spec', 'claimRef') as Json | undefined;
  const after = at(newObject, 'spec', 'claimRef') as Json | undefined;
  const preBound =
    before !== undefined &&
    after !== undefined &&
    before.name === after.name &&
    before.namespace === after.namespace &&
    !before.uid;
  if (after !== undefined && (before === undefined || preBound)) covered.push('/spec/claimRef');
  if (
    annotations(oldObject)['pv.kubernetes.io/bound-by-controller'] === undefined &&
    annotations(newObject)['pv.kubernetes.io/bound-by-controller'] === 'yes'
  ) {
    covered.push(annotation('pv.kubernetes.io/bound-by-controller'));
  }
  return covered;
}

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const LOAD_BALANCER_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';

/**
 * The JSON Pointers under which this update is a controller's own write to the locked
 * object (empty when it is none). Only changes under them are set aside; anything else the
 * same request changes is still judged.
 */
export function controllerWrites(request: AdmissionRequest, oldObject: KubeObject, newObject: KubeObject): string[] {
  const username = request.userInfo.username;
  const gk = groupKindOf(oldObject, request.kind);
  const owner = derivedFrom(oldObject, gk);
  if (maintainsView(username, gk)) return [''];
  if (owner && isController(username, owner.controller)) {
    if (gk.kind === 'ReplicaSet') return ['/spec/replicas', '/spec/minReadySeconds', '/metadata/annotations'];
    if (gk.kind === 'ControllerRevision') return ['/revision'];
    if (
      gk.kind === 'Pod' &&
      owner.controller === 'job-controller' &&
      finalizerOnly(finalizers(oldObject), finalizers(newObject), JOB_TRACKING_FINALIZER, 'remove')
    ) {
      return ['/metadata/finalizers'];
    }
    return [];
  }
  if (isController(username, 'persistent-volume-binder')) {
    if (gk.group === '' && gk.kind === 'PersistentVolumeClaim') return claimBinding(oldObject, newObject);
    if (gk.group === '' && gk.kind === 'PersistentVolume') return volumeBinding(oldObject, newObject);
  }
  // The service controller lives in the cloud-controller-manager, which names its clients like kube-controller-manager.
  if (
    isController(username, 'service-controller') &&
    gk.group === '' &&
    gk.kind === 'Service' &&
    finalizerOnly(finalizers(oldObject), finalizers(newObject), LOAD_BALANCER_FINALIZER, 'either')
  ) {
    return ['/metadata/finalizers'];
  }
  return [];
}
