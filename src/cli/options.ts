// Options shared by subcommands and their mapping onto configuration overrides.
// Every flag can also come from an environment variable (BULWARK_*).

import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ConfigOverrides } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { LOG_LEVELS } from '../observability/log-levels.ts';

function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('not a number');
  return n;
}

/** A comma-separated flag as a list; undefined when the flag is not given. */
const list = (value: string | undefined) =>
  value
    ?.split(',')
    .map((v) => v.trim())
    .filter(Boolean);

export function addPolicyOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--config <file>', 'YAML configuration file (flags and environment override it)').env(
        'BULWARK_CONFIG',
      ),
    )
    .addOption(new Option('--label-key <key>', 'label that locks an object').env('BULWARK_LABEL_KEY'))
    .addOption(
      new Option('--label-value <value>', 'value of the lock label that locks an object').env('BULWARK_LABEL_VALUE'),
    )
    .addOption(
      new Option(
        '--default-approver-groups <groups>',
        'comma-separated groups that may approve unlocks of objects no ImmutabilityPolicy matches (default: nobody)',
      ).env('BULWARK_DEFAULT_APPROVER_GROUPS'),
    )
    .addOption(
      new Option(
        '--policy-admin-groups <groups>',
        'comma-separated groups whose members may write ImmutabilityPolicy/ImagePolicy objects, whatever RBAC ' +
          'says (default system:masters)',
      ).env('BULWARK_POLICY_ADMIN_GROUPS'),
    )
    .addOption(
      new Option(
        '--policy-admin-users <users>',
        'comma-separated users (service accounts as system:serviceaccount:NS:NAME) who may write policies',
      ).env('BULWARK_POLICY_ADMIN_USERS'),
    )
    .addOption(
      new Option(
        '--policies <dir>',
        'load ImmutabilityPolicy/ImagePolicy YAML files from this directory (standalone mode)',
      ).env('BULWARK_POLICIES'),
    );
}

export function addServeOptions(cmd: Command): Command {
  return addPolicyOptions(cmd)
    .addOption(new Option('--port <port>', 'HTTPS port (default 8443)').argParser(number).env('BULWARK_PORT'))
    .addOption(new Option('--host <address>', 'address to listen on (default 0.0.0.0)').env('BULWARK_HOST'))
    .addOption(new Option('--cert <file>', 'PEM serving certificate; reloaded when it changes').env('BULWARK_TLS_CERT'))
    .addOption(new Option('--key <file>', 'PEM private key of --cert; reloaded when it changes').env('BULWARK_TLS_KEY'))
    .addOption(
      new Option('--cert-dir <dir>', 'where to write a generated CA and certificate when --cert is not given').env(
        'BULWARK_CERT_DIR',
      ),
    )
    .addOption(
      new Option('--cert-reload-interval <seconds>', 'how often to check the certificate files (default 10)')
        .argParser(number)
        .env('BULWARK_CERT_RELOAD_INTERVAL'),
    )
    .addOption(
      new Option('--client-ca <file>', 'PEM CA: require client certificates it issued (mutual TLS)').env(
        'BULWARK_TLS_CLIENT_CA',
      ),
    )
    .addOption(
      new Option('--max-body-bytes <bytes>', 'largest accepted request body (default 8 MiB)')
        .argParser(number)
        .env('BULWARK_MAX_BODY_BYTES'),
    )
    .addOption(
      new Option('--metrics-port <port>', 'serve /metrics alone on this plain-HTTP port (not on the HTTPS one)')
        .argParser(number)
        .env('BULWARK_METRICS_PORT'),
    )
    .addOption(
      new Option('--max-in-flight-bytes <bytes>', 'request body bytes held at once; beyond: HTTP 429 (default 32 MiB)')
        .argParser(number)
        .env('BULWARK_MAX_IN_FLIGHT_BYTES'),
    )
    .addOption(
      new Option('--max-connections <count>', 'open connections at most (default 1000)')
        .argParser(number)
        .env('BULWARK_MAX_CONNECTIONS'),
    )
    .addOption(
      new Option('--http2 <enabled>', 'offer HTTP/2 to clients, HTTP/1.1 still accepted (default false)')
        .choices(['true', 'false'])
        .env('BULWARK_HTTP2'),
    )
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).env('BULWARK_LOG_LEVEL'))
    .addOption(
      new Option('--kubeconfig <file>', 'kubeconfig for cluster lookups (default: in-cluster, then $KUBECONFIG)').env(
        'BULWARK_KUBECONFIG',
      ),
    )
    .addOption(
      new Option('--cluster <mode>', 'use a cluster connection: auto, required or none')
        .choices(['auto', 'required', 'none'])
        .env('BULWARK_CLUSTER'),
    )
    .addOption(
      new Option('--decision-timeout <seconds>', 'deadline for one decision, lookups included (default 8)')
        .argParser(number)
        .env('BULWARK_DECISION_TIMEOUT'),
    )
    .addOption(
      new Option(
        '--resync-grace <seconds>',
        'after a policy watch breaks, decide from the last synced state this long while it resumes ' +
          '(default 10; 0: refuse at once)',
      )
        .argParser(number)
        .env('BULWARK_RESYNC_GRACE'),
    )
    .addOption(
      new Option('--drain <seconds>', 'on SIGTERM, how long in-flight requests may finish (default 20)')
        .argParser(number)
        .env('BULWARK_DRAIN'),
    )
    .addOption(
      new Option(
        '--metrics-policy-label',
        'label decision metrics with the policy that decided (one series per policy)',
      ).env('BULWARK_METRICS_POLICY_LABEL'),
    )
    .addOption(
      new Option('--namespace <name>', "bulwark's own namespace, where its attestation keys are kept").env(
        'BULWARK_NAMESPACE',
      ),
    )
    .addOption(
      new Option(
        '--attestation-keys-secret <name>',
        'Secret of attestation keys (default bulwark-attestation-keys)',
      ).env('BULWARK_ATTESTATION_KEYS_SECRET'),
    )
    .addOption(
      new Option('--audit-interval <seconds>', 'seconds between drift audit scans; 0 turns it off (default 60)')
        .argParser(number)
        .env('BULWARK_AUDIT_INTERVAL'),
    )
    .addOption(
      new Option('--audit-page-size <objects>', 'objects per list request of a drift audit scan (default 500)')
        .argParser(number)
        .env('BULWARK_AUDIT_PAGE_SIZE'),
    )
    .addOption(
      new Option(
        '--warm-up-rounds <rounds>',
        'rounds of synthetic reviews (5 each) answered on a loopback server before listening, so that the ' +
          'first real ones are answered as fast as later ones ' +
          '(default 0: none; 400 cost ~1 s of start-up and ~15 MiB)',
      )
        .argParser(number)
        .env('BULWARK_WARM_UP_ROUNDS'),
    )
    .addOption(
      new Option(
        '--excluded-namespaces <namespaces>',
        "comma-separated namespaces the webhooks never send (the chart's webhook.excludedNamespaces): the audit " +
          "does not judge their running Pods' images (kube-system and --namespace never are)",
      ).env('BULWARK_EXCLUDED_NAMESPACES'),
    )
    .addOption(
      new Option('--notify-url <url>', 'POST each UnlockRequest transition as JSON to this URL').env(
        'BULWARK_NOTIFY_URL',
      ),
    )
    .addOption(
      new Option(
        '--notify-secret <name>',
        "Secret in bulwark's namespace with `token` (bearer) and/or `hmac-key` (signature) for --notify-url",
      ).env('BULWARK_NOTIFY_SECRET'),
    );
}

export interface ParsedOptions {
  config?: string;
  labelKey?: string;
  labelValue?: string;
  policies?: string;
  defaultApproverGroups?: string;
  policyAdminGroups?: string;
  policyAdminUsers?: string;
  port?: number;
  host?: string;
  cert?: string;
  key?: string;
  certDir?: string;
  certReloadInterval?: number;
  clientCa?: string;
  maxBodyBytes?: number;
  maxInFlightBytes?: number;
  maxConnections?: number;
  http2?: 'true' | 'false';
  metricsPort?: number;
  logLevel?: Config['logLevel'];
  kubeconfig?: string;
  cluster?: Config['cluster'];
  decisionTimeout?: number;
  drain?: number;
  resyncGrace?: number;
  metricsPolicyLabel?: boolean;
  namespace?: string;
  attestationKeysSecret?: string;
  auditInterval?: number;
  auditPageSize?: number;
  warmUpRounds?: number;
  excludedNamespaces?: string;
  notifyUrl?: string;
  notifySecret?: string;
}

export function toOverrides(o: ParsedOptions): ConfigOverrides {
  return {
    port: o.port,
    host: o.host,
    tls: {
      certFile: o.cert,
      keyFile: o.key,
      certDir: o.certDir,
      reloadIntervalSeconds: o.certReloadInterval,
      clientCaFile: o.clientCa,
    },
    lockLabel: { key: o.labelKey, value: o.labelValue },
    policiesDir: o.policies,
    defaultUnlock: { approverGroups: list(o.defaultApproverGroups) },
    policyAdmins: { groups: list(o.policyAdminGroups), users: list(o.policyAdminUsers) },
    maxBodyBytes: o.maxBodyBytes,
    maxInFlightBytes: o.maxInFlightBytes,
    metricsPort: o.metricsPort,
    maxConnections: o.maxConnections,
    http2: o.http2 === undefined ? undefined : o.http2 === 'true',
    logLevel: o.logLevel,
    kubeconfig: o.kubeconfig,
    cluster: o.cluster,
    decisionTimeoutSeconds: o.decisionTimeout,
    drainSeconds: o.drain,
    resyncGraceSeconds: o.resyncGrace,
    metrics: { policyLabel: o.metricsPolicyLabel },
    namespace: o.namespace,
    attestationKeysSecret: o.attestationKeysSecret,
    auditIntervalSeconds: o.auditInterval,
    auditPageSize: o.auditPageSize,
    warmUpRounds: o.warmUpRounds,
    excludedNamespaces: list(o.excludedNamespaces),
    notifyUrl: o.notifyUrl,
    notifySecret: o.notifySecret,
  };
}
