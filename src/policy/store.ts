// The live policy store: policy objects come in (informer events, files), are compiled
// once, and a new immutable snapshot is built and swapped in atomically. A request
// takes one snapshot and uses it throughout.

import type { FieldProblem } from '../errors.ts';
import { formatProblems } from '../errors.ts';
import { BUILTIN_IMMUTABILITY_POLICY, DEFAULT_LOCK_LABEL, DEFAULT_POLICY_ADMINS, strictStandIn } from './builtin.ts';
import type { CompileResult } from './compile-immutability.ts';
import type {
  CompiledImagePolicy,
  CompiledImmutabilityPolicy,
  LockLabel,
  PolicyProblem,
  PolicySnapshot,
  PolicySource,
  SubjectSet,
} from './compiled.ts';
import type { PolicyCompiler } from './compiler.ts';
import type { PolicyKind } from './crds.ts';
import type { ApprovalTrust } from '../attestation/approval.ts';
import { buildImageIndex } from './image-index.ts';
import { buildImmutabilityIndex } from './immutability-index.ts';

export interface PolicyStatusReport {
  kind: PolicyKind;
  source: PolicySource;
  ready: boolean;
  message: string;
  problems: FieldProblem[];
}

export interface PolicyStoreOptions {
  /** Compiles policy objects (built once at start-up: createPolicyCompiler). */
  compiler: PolicyCompiler;
  lockLabel?: LockLabel;
  /** The policy for labelled objects no ImmutabilityPolicy matches (built-in default unless configured). */
  defaultImmutability?: CompiledImmutabilityPolicy;
  /** Who may write policies (default: group system:masters). */
  policyAdmins?: SubjectSet;
  /** Sources that must each report a first full read before the snapshot is synced. */
  sources: readonly string[];
  /** Called for every compiled policy whose outcome is new (for status and logs). */
  onCompiled?: (report: PolicyStatusReport) => void;
  /** Attestation keys known from the start (tests, files); in a cluster they come from a Secret. */
  attestation?: ApprovalTrust;
}

type Entry<T> = { result: CompileResult<T> };

/** An invalid ImagePolicy denies every image it could apply to: it matches all namespaces. */
function invalidImagePolicy(source: PolicySource, message: string): CompiledImagePolicy {
  return Object.freeze({
    ...source,
    images: [],
    requireDigest: true,
    authorities: [],
    threshold: 1,
    required: [],
    attestations: [],
    registry: { insecure: false },
    enforcement: 'Enforce',
    unmatchedImages: 'Deny',
    invalid: message,
    matchNamespace: () => 'match' as const,
  });
}

export class PolicyStore {
  private readonly immutability = new Map<string, Entry<CompiledImmutabilityPolicy>>();
  private readonly images = new Map<string, Entry<CompiledImagePolicy>>();
  private readonly pendingSources: Set<string>;
  /** Sources that have completed a full read at least once: a pending one among them lost its watch. */
  private readonly syncedOnce = new Set<string>();
  private readonly options: PolicyStoreOptions;
  private current: PolicySnapshot;
  private attestation: ApprovalTrust;
  /** Set by every change; the next snapshot() rebuilds once, however many events came in. */
  private dirty = false;

  constructor(options: PolicyStoreOptions) {
    this.options = options;
    this.pendingSources = new Set(options.sources);
    this.attestation = options.attestation;
    this.current = this.build();
  }

  /** The current snapshot; callers keep it for the whole request. */
  snapshot(): PolicySnapshot {
    if (this.dirty) {
      this.current = this.build();
      this.dirty = false;
    }
    return this.current;
  }

  /** Compiles and stores a policy; returns its problems (empty when it compiled). */
  upsert(kind: PolicyKind, object: unknown): FieldProblem[] {
    const { compiler } = this.options;
    const result = kind === 'ImmutabilityPolicy' ? compiler.immutability(object) : compiler.image(object);
    if (kind === 'ImmutabilityPolicy')
      this.put(kind, this.immutability, result as CompileResult<CompiledImmutabilityPolicy>);
    else this.put(kind, this.images, result as CompileResult<CompiledImagePolicy>);
    this.rebuild();
    return result.ok ? [] : result.problems;
  }

  remove(kind: PolicyKind, uid: string): void {
    const map = kind === 'ImmutabilityPolicy' ? this.immutability : this.images;
    if (map.delete(uid)) this.rebuild();
  }

  /** A source (an informer, the file loader) has completed its first full read. */
  markSynced(source: string): void {
    this.syncedOnce.add(source);
    if (this.pendingSources.delete(source)) this.rebuild();
  }

  /** A source lost its connection and must relist before the store is trusted again. */
  markUnsynced(source: string): void {
    if (this.options.sources.includes(source) && !this.pendingSources.has(source)) {
      this.pendingSources.add(source);
      this.rebuild();
    }
  }

  /** Every source the store waits for (informers, files). */
  sources(): readonly string[] {
    return this.options.sources;
  }

  /** New attestation keys (read from their Secret, rotated): approvals are checked with them from now on. */
  setAttestationKeys(ring: ApprovalTrust): void {
    this.attestation = ring;
    this.rebuild();
  }

  pending(): readonly string[] {
    return [...this.pendingSources];
  }

  private put<T extends PolicySource>(kind: PolicyKind, map: Map<string, Entry<T>>, result: CompileResult<T>): void {
    const source = result.ok ? result.policy : result.source;
    const previous = map.get(source.uid);
    map.set(source.uid, { result });
    const changed =
      !previous ||
      (previous.result.ok ? previous.result.policy.resourceVersion : previous.result.source.resourceVersion) !==
        source.resourceVersion;
    if (changed && this.options.onCompiled) {
      this.options.onCompiled(
        result.ok
          ? { kind, source, ready: true, message: 'compiled', problems: [] }
          : { kind, source, ready: false, message: formatProblems(result.problems), problems: result.problems },
      );
    }
  }

  private rebuild(): void {
    this.dirty = true;
  }

  private build(): PolicySnapshot {
    const problems: PolicyProblem[] = [];
    const immutability: CompiledImmutabilityPolicy[] = [];
    for (const { result } of this.immutability.values()) {
      if (result.ok) immutability.push(result.policy);
      else {
        const message = formatProblems(result.problems);
        problems.push({ kind: 'ImmutabilityPolicy', name: result.source.name, message });
        immutability.push(strictStandIn(result.source, `it is invalid: ${message}`));
      }
    }
    const images: CompiledImagePolicy[] = [];
    for (const { result } of this.images.values()) {
      if (result.ok) images.push(result.policy);
      else {
        const message = formatProblems(result.problems);
        problems.push({ kind: 'ImagePolicy', name: result.source.name, message });
        images.push(invalidImagePolicy(result.source, message));
      }
    }
    return Object.freeze({
      lockLabel: this.options.lockLabel ?? DEFAULT_LOCK_LABEL,
      defaultImmutability: this.options.defaultImmutability ?? BUILTIN_IMMUTABILITY_POLICY,
      immutability: buildImmutabilityIndex(immutability),
      images,
      imageIndex: buildImageIndex(images),
      problems,
      policyAdmins: this.options.policyAdmins ?? DEFAULT_POLICY_ADMINS,
      synced: this.pendingSources.size === 0,
      pending: [...this.pendingSources],
      lost: [...this.pendingSources].filter((source) => this.syncedOnce.has(source)),
      compiler: this.options.compiler,
      attestation: this.attestation,
    });
  }
}
