// Cluster credentials without loading @kubernetes/client-node, which costs about 80 MB of
// memory and 0.7 s at start (its generated API models; issue 19). The in-cluster service
// account and kubeconfig files with a server, a CA, client certificates or a token (what a
// webhook's pod and our tests use) are read here; anything else (exec plugins, auth providers,
// basic auth, impersonation, proxies) goes to client-node's KubeConfig, loaded only then.

import { existsSync, readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { isIPv6 } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { load } from 'js-yaml';
import { BaseError, messageOf } from '../errors.ts';

export interface ClusterEntry {
  name: string;
  server: string;
  caData?: string;
  caFile?: string;
  skipTLSVerify?: boolean;
  tlsServerName?: string;
}

export interface UserEntry {
  name: string;
  token?: string;
  tokenFile?: string;
  certData?: string;
  certFile?: string;
  keyData?: string;
  keyFile?: string;
}

/** What the API client needs of a kubeconfig: client-node's KubeConfig has the same shape. */
export interface KubeConnection {
  clusters: ClusterEntry[];
  users: UserEntry[];
  getCurrentCluster(): ClusterEntry | null;
  /** Sets the CA, client certificate and Authorization header of one request. */
  applyToHTTPSOptions(options: RequestOptions): Promise<void>;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A projected service-account token is rotated by the kubelet: read it again after this long. */
const REREAD_MS = 60_000;

// `extensions` (minikube's, for one) only inform; `disable-compression` asks for what we do anyway.
const CLUSTER_FIELDS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'extensions']);
const CLUSTER_FLAGS = new Set(['insecure-skip-tls-verify', 'tls-server-name', 'disable-compression']);
const USER_FIELDS = new Set([
  'extensions',
  'token',
  'tokenFile',
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
]);

/** Reads a file at most once a minute (tokens and certificates rotate on disk). */
function rereadingFile(): (file: string) => Buffer {
  const read = new Map<string, { at: number; content: Buffer }>();
  return (file) => {
    const cached = read.get(file);
    if (cached && Date.now() - cached.at < REREAD_MS) return cached.content;
    const content = readFileSync(file);
    read.set(file, { at: Date.now(), content });
    return content;
  };
}

/** A connection from plain entries; the current cluster and user are the first of each. */
export function simpleConnection(cluster: ClusterEntry, user: UserEntry): KubeConnection {
  const readFile = rereadingFile();
  const bytes = (file: string | undefined, data: string | undefined) =>
    file ? readFile(file) : data ? Buffer.from(data, 'base64') : undefined;
  const connection: KubeConnection = {
    clusters: [cluster],
    users: [user],
    getCurrentCluster: () => connection.clusters[0] ?? null,
    async applyToHTTPSOptions(options) {
      const c = connection.clusters[0];
      const u = connection.users[0];
      if (!c || !u) return;
      if (c.skipTLSVerify) options.rejectUnauthorized = false;
      if (c.tlsServerName) options.servername = c.tlsServerName;
      const ca = bytes(c.caFile, c.caData);
      if (ca) options.ca = ca;
      const cert = bytes(u.certFile, u.certData);
      if (cert) options.cert = cert;
      const key = bytes(u.keyFile, u.keyData);
      if (key) options.key = key;
      const token = u.token ?? (u.tokenFile ? readFile(u.tokenFile).toString('utf8').trim() : undefined);
      if (token) options.headers = { ...options.headers, authorization: `Bearer ${token}` };
    },
  };
  return connection;
}

/** The pod's service account, as client-node's loadFromCluster reads it. */
export function inClusterConnection(root = SERVICE_ACCOUNT): KubeConnection {
  const host = process.env.KUBERNETES_SERVICE_HOST ?? '';
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  return simpleConnection(
    { name: 'inCluster', server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`, caFile: `${root}/ca.crt` },
    { name: 'inClusterUser', tokenFile: `${root}/token` },
  );
}

type Entry = Record<string, unknown>;

function named(list: unknown, name: unknown, field: string): Entry | undefined {
  if (!Array.isArray(list)) return undefined;
  const found = (list as Entry[]).find((e) => e?.name === name)?.[field];
  return found && typeof found === 'object' ? (found as Entry) : undefined;
}

const onlyKnown = (entry: Entry, known: Set<string>, flags: Set<string> = new Set()) =>
  Object.keys(entry).every((k) => known.has(k) || (flags.has(k) && entry[k] !== undefined));

/**
 * The current context of a kubeconfig file when it uses only what simpleConnection does;
 * undefined when it uses more (then client-node reads it). Relative paths are taken from
 * the file's folder, as kubectl and client-node do.
 */
export function readSimpleKubeConfig(file: string): KubeConnection | undefined {
  let doc: Entry;
  try {
    doc = load(readFileSync(file, 'utf8')) as Entry; // js-yaml, as client-node reads kubeconfigs
  } catch (err) {
    throw new BaseError('CONFIG_INVALID', `cannot read the kubeconfig ${file}: ${messageOf(err)}`, { cause: err });
  }
  if (!doc || typeof doc !== 'object') return undefined;
  const context = named(doc.contexts, doc['current-context'], 'context');
  if (!context) return undefined;
  const cluster = named(doc.clusters, context.cluster, 'cluster');
  const user = named(doc.users, context.user, 'user') ?? {};
  if (!cluster || typeof cluster.server !== 'string') return undefined;
  if (!onlyKnown(cluster, CLUSTER_FIELDS, CLUSTER_FLAGS) || !onlyKnown(user, USER_FIELDS)) return undefined;
  const root = dirname(file);
  const path = (p: unknown) => (typeof p === 'string' && p !== '' ? (isAbsolute(p) ? p : join(root, p)) : undefined);
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const entries = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return simpleConnection(
    entries({
      name: String(context.cluster),
      server: cluster.server,
      caData: text(cluster['certificate-authority-data']),
      caFile: path(cluster['certificate-authority']),
      skipTLSVerify: cluster['insecure-skip-tls-verify'] === true ? true : undefined,
      tlsServerName: text(cluster['tls-server-name']),
    }) as ClusterEntry,
    entries({
      name: String(context.user ?? ''),
      token: text(user.token),
      tokenFile: path(user.tokenFile),
      certData: text(user['client-certificate-data']),
      certFile: path(user['client-certificate']),
      keyData: text(user['client-key-data']),
      keyFile: path(user['client-key']),
    }) as UserEntry,
  );
}

/** A kubeconfig file: read here when simple, else by client-node (imported only now). */
export async function connectionFromFile(file: string): Promise<KubeConnection> {
  const simple = existsSync(file) ? readSimpleKubeConfig(file) : undefined;
  if (simple) return simple;
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc as unknown as KubeConnection;
}
