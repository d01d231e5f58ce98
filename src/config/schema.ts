// The configuration's shape and its JSON Schema. Every source (defaults, config file,
// environment, flags) is merged first and validated once against this schema.

import type { JSONSchemaType } from 'ajv';
import { LOG_LEVELS, type LogLevel } from '../observability/logger.ts';

export interface Config {
  /** HTTPS port of the webhook. */
  port: number;
  /** Address to listen on. */
  host: string;
  /**
   * A plain-HTTP port for /metrics alone, so that it can be exposed (to a scraper) without
   * exposing /validate; when set, the HTTPS port no longer serves /metrics.
   */
  metricsPort?: number;
  tls: {
    /** PEM certificate and key; both or neither. Without them a CA and certificate are generated. */
    certFile?: string;
    keyFile?: string;
    /** Where generated certificates are written (default: a new temporary directory). */
    certDir?: string;
    /** How often certificate files are checked for rotation. */
    reloadIntervalSeconds: number;
    /**
     * PEM CA bundle: when set, every client must present a certificate it issued (mutual
     * TLS; the apiserver sends one through its admission configuration), others fail the handshake.
     */
    clientCaFile?: string;
  };
  lockLabel: { key: string; value: string };
  /** Unlock rules for labelled objects that no ImmutabilityPolicy matches. */
  defaultUnlock: { approverGroups: string[]; approvalsRequired: number; maxDuration: string };
  /**
   * Who may write ImmutabilityPolicy and ImagePolicy objects, whatever RBAC says; users include service accounts
   * (system:serviceaccount:NS:NAME).
   */
  policyAdmins: { groups: string[]; users: string[] };
  /** Largest AdmissionReview body accepted; larger ones get HTTP 413. */
  maxBodyBytes: number;
  /**
   * Bytes of request bodies held at once, across all requests (a parsed review weighs a few
   * times its text); beyond it requests get a fast HTTP 429. One review of up to maxBodyBytes always fits.
   */
  maxInFlightBytes: number;
  /** Open connections at most; beyond it new connections are closed at once (and logged). */
  maxConnections: number;
  /** Offer HTTP/2 (ALPN h2) on the HTTPS port, HTTP/1.1 still accepted; false: HTTP/1.1 only. */
  http2: boolean;
  logLevel: LogLevel;
  /** Directory of policy YAML files (standalone mode). */
  policiesDir?: string;
  /** kubeconfig for reading cluster facts (in-cluster config when running in a pod). */
  kubeconfig?: string;
  /** Whether to talk to a cluster: `auto` uses one when a kubeconfig or in-cluster config exists. */
  cluster: 'auto' | 'required' | 'none';
  /** Longest time a single decision may take, including lookups; beyond it the request is denied. */
  decisionTimeoutSeconds: number;
  /** On SIGTERM, how long in-flight requests may take before connections are cut. */
  drainSeconds: number;
  /**
   * After a policy watch breaks, how long decisions still come from the last complete state
   * while it resumes (0: refuse at once). Past it, every request is refused until re-synced.
   */
  resyncGraceSeconds: number;
  metrics: {
    /** Label decisions with the policy that made them (one series per policy). */
    policyLabel: boolean;
  };
  /** Bulwark's own namespace: where its attestation keys are kept. */
  namespace: string;
  /** The Secret (in `namespace`) holding the attestation keys; created at first start when absent. */
  attestationKeysSecret: string;
  /** Seconds between drift audit scans (seals, drift reports); 0 turns the audit off. */
  auditIntervalSeconds: number;
  /** Objects per list request of an audit scan (default 500): what the leader holds at once. */
  auditPageSize?: number;
  /** Rounds of synthetic reviews answered before listening (server/warm-up.ts); default 0: none. */
  warmUpRounds?: number;
  /**
   * Namespaces the webhooks are never sent besides kube-system and `namespace` (the chart's
   * webhook.excludedNamespaces): the audit does not judge their running Pods' images.
   */
  excludedNamespaces: string[];
  /** The outgoing notification webhook (UnlockRequest transitions); absent: none. */
  notifyUrl?: string;
  /** A Secret (in `namespace`) with `token` (bearer) and/or `hmac-key` (signature) for it. */
  notifySecret?: string;
}

// A label key: optional DNS-subdomain prefix and a name of at most 63 characters.
const LABEL_KEY =
  '^(([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,6' +
  '1}[A-Za-z0-9])?$';
const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';

export const configSchema: JSONSchemaType<Config> = {
  type: 'object',
  additionalProperties: false,
  required: [
    'port',
    'host',
    'tls',
    'lockLabel',
    'defaultUnlock',
    'policyAdmins',
    'maxBodyBytes',
    'maxInFlightBytes',
    'maxConnections',
    'http2',
    'logLevel',
    'cluster',
    'decisionTimeoutSeconds',
    'drainSeconds',
    'resyncGraceSeconds',
    'metrics',
    'namespace',
    'attestationKeysSecret',
    'auditIntervalSeconds',
    'excludedNamespaces',
  ],
  properties: {
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    host: { type: 'string', minLength: 1 },
    metricsPort: { type: 'integer', minimum: 0, maximum: 65535, nullable: true },
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['reloadIntervalSeconds'],
      properties: {
        certFile: { type: 'string', minLength: 1, nullable: true },
        keyFile: { type: 'string', minLength: 1, nullable: true },
        certDir: { type: 'string', minLength: 1, nullable: true },
        reloadIntervalSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600 },
        clientCaFile: { type: 'string', minLength: 1, nullable: true },
      },
      dependencies: { certFile: ['keyFile'], keyFile: ['certFile'] },
    },
    lockLabel: {
      type: 'object',
      additionalProperties: false,
      required: ['key', 'value'],
      properties: {
        key: { type: 'string', maxLength: 317, pattern: LABEL_KEY },
        value: { type: 'string', maxLength: 63, pattern: LABEL_VALUE },
      },
    },
    defaultUnlock: {
      type: 'object',
      additionalProperties: false,
      required: ['approverGroups', 'approvalsRequired', 'maxDuration'],
      properties: {
        approverGroups: { type: 'array', items: { type: 'string', minLength: 1 } },
        approvalsRequired: { type: 'integer', minimum: 1, maximum: 10 },
        maxDuration: { type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$' },
      },
    },
    policyAdmins: {
      type: 'object',
      additionalProperties: false,
      required: ['groups', 'users'],
      properties: {
        groups: { type: 'array', items: { type: 'string', minLength: 1 } },
        users: { type: 'array', items: { type: 'string', minLength: 1 } },
      },
    },
    maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024 },
    maxInFlightBytes: { type: 'integer', minimum: 1024, maximum: 4 * 1024 * 1024 * 1024 },
    maxConnections: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    http2: { type: 'boolean' },
    logLevel: { type: 'string', enum: [...LOG_LEVELS] },
    policiesDir: { type: 'string', minLength: 1, nullable: true },
    kubeconfig: { type: 'string', minLength: 1, nullable: true },
    cluster: { type: 'string', enum: ['auto', 'required', 'none'] },
    decisionTimeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 30 },
    drainSeconds: { type: 'number', minimum: 0, maximum: 300 },
    resyncGraceSeconds: { type: 'number', minimum: 0, maximum: 60 },
    metrics: {
      type: 'object',
      additionalProperties: false,
      required: ['policyLabel'],
      properties: { policyLabel: { type: 'boolean' } },
    },
    namespace: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
    auditIntervalSeconds: { type: 'number', minimum: 0, maximum: 86400 },
    auditPageSize: { type: 'integer', minimum: 1, maximum: 10000, nullable: true },
    warmUpRounds: { type: 'integer', minimum: 0, maximum: 100000, nullable: true },
    excludedNamespaces: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 63 } },
    notifyUrl: { type: 'string', pattern: '^https?://', maxLength: 2048, nullable: true },
    notifySecret: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      pattern: '^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$',
      nullable: true,
    },
    attestationKeysSecret: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      pattern: '^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$',
    },
  },
};

/**
 * The apiserver caps a request body at 3 MiB and etcd an object at 1.5 MiB; a review
 * carries the object and its old version plus envelope, so 8 MiB leaves ample room.
 */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

export const DEFAULT_CONFIG: Config = {
  port: 8443,
  host: '0.0.0.0',
  tls: { reloadIntervalSeconds: 10 },
  lockLabel: { key: 'bulwark.dev/immutable', value: 'true' },
  defaultUnlock: { approverGroups: [], approvalsRequired: 2, maxDuration: '1h' },
  policyAdmins: { groups: ['system:masters'], users: [] },
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  // With the chart's 512 Mi limit: 7 MiB reviews take about 6x their size once parsed and decided.
  maxInFlightBytes: 32 * 1024 * 1024,
  maxConnections: 1000,
  // Measured (issue 19, npm run bench): Node's HTTP/2 costs as much or more per review than
  // its HTTP/1.1, and pins every review of an apiserver to one replica. Opt-in, not default.
  http2: false,
  logLevel: 'info',
  cluster: 'auto',
  decisionTimeoutSeconds: 8,
  drainSeconds: 20,
  // A CRD update or an apiserver restart ends every watch; they resume in about a second.
  resyncGraceSeconds: 10,
  metrics: { policyLabel: false },
  namespace: 'bulwark-system',
  attestationKeysSecret: 'bulwark-attestation-keys',
  auditIntervalSeconds: 60,
  excludedNamespaces: [],
};
