// A Bulwark webhook that also records every AdmissionReview the apiserver sends, so
// unit-test fixtures are exactly what a real kube-apiserver produces. Test tooling
// only: it writes request bodies (which may hold Secret data) to disk.
//
//   node test/e2e/capture/recorder.ts --port P --cert F --key F --out DIR [--kubeconfig K] [--allow-all]
//
// --allow-all answers every review with an allow: the recorder then only listens in, next to
// the Bulwark that decides (the full cluster's, scripts/capture-controller-fixtures.ts).

import { mkdirSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createKubeReader, loadKubeConfig } from '../../../src/cluster/kube-client.ts';
import { clusterFactResolver } from '../../../src/cluster/facts.ts';
import { createReviewDecoder } from '../../../src/admission/decode.ts';
import { noClusterFacts } from '../../../src/review/decide.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { createApp } from '../../../src/server/app.ts';
import { TLS_OPTIONS } from '../../../src/server/tls.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    cert: { type: 'string' },
    key: { type: 'string' },
    out: { type: 'string' },
    kubeconfig: { type: 'string' },
    'allow-all': { type: 'boolean', default: false },
  },
  allowPositionals: true,
  strict: false,
});
const out = String(values.out ?? process.env.BULWARK_CAPTURE_DIR ?? '');
if (!out || !values.cert || !values.key || !values.port) {
  console.error('usage: recorder.ts --port P --cert F --key F --out DIR [--kubeconfig K]');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const kc = await loadKubeConfig(values.kubeconfig ? 'required' : 'none', values.kubeconfig as string | undefined);
const app = createApp({
  decideDeps: {
    snapshot: () => builtinSnapshot(),
    resolveFacts: kc ? clusterFactResolver({ reader: createKubeReader(kc), timeoutMs: 5000 }) : noClusterFacts,
  },
  decoder: createReviewDecoder(),
  logger: createLogger('warn'),
  metrics: createMetrics({ collectDefaults: false }),
  readiness: () => ({ ready: true }),
  maxBodyBytes: 8 * 1024 * 1024,
  maxInFlightBytes: 64 * 1024 * 1024,
});

let seq = 0;
const server = createServer(
  { ...TLS_OPTIONS, cert: readFileSync(String(values.cert)), key: readFileSync(String(values.key)) },
  (req, res) => {
    if (req.method === 'POST' && req.url?.split('?')[0] === '/validate') {
      // Listen alongside the app's own body reader: both see every chunk.
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const r = JSON.parse(Buffer.concat(chunks).toString('utf8')).request;
          const name = [
            String(++seq).padStart(5, '0'),
            r.operation,
            r.resource?.resource,
            r.subResource,
            r.namespace,
            r.name,
          ]
            .filter(Boolean)
            .join('_')
            .replace(/[^A-Za-z0-9_.-]/g, '-');
          writeFileSync(join(out, `${name}.json`), Buffer.concat(chunks));
          if (values['allow-all']) {
            res.setHeader('content-type', 'application/json');
            res.end(
              JSON.stringify({
                apiVersion: 'admission.k8s.io/v1',
                kind: 'AdmissionReview',
                response: { uid: r.uid, allowed: true },
              }),
            );
          }
        } catch {
          /* malformed: not recorded */
        }
        if (values['allow-all'] && !res.writableEnded) res.end();
      });
      if (values['allow-all']) return;
    }
    app(req, res);
  },
);
server.listen(Number(values.port), String(values.host), () =>
  console.log(`recorder listening on ${values.host}:${values.port}, writing to ${out}`),
);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
