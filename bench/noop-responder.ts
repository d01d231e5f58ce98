// Baselines for `npm run bench`, each its own process like Bulwark:
//   node bench/noop-responder.ts PORT CERT KEY           a fixed allow, body ignored (the no-op)
//   node bench/noop-responder.ts PORT CERT KEY parse     reads and JSON-parses the review and
//                                                        echoes its uid: the least any webhook
//                                                        that looks at the request must do
//   node bench/noop-responder.ts PORT CERT KEY lock      as parse, but denies a write to an object
//                                                        named "locked" (bench/apiserver.ts's floor
//                                                        for a Node webhook through the apiserver)
// PORT 0 takes an ephemeral port; the process prints "ready PORT" once it listens.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [port, cert, key, mode] = process.argv.slice(2);
const fixed = Buffer.from(
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: 'fixed', allowed: true },
  }),
);
const server = createServer(
  { cert: readFileSync(cert!), key: readFileSync(key!), minVersion: 'TLSv1.2' },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      if (mode !== undefined) chunks.push(c);
    });
    req.on('end', () => {
      let answer = fixed;
      if (mode !== undefined && req.method === 'POST') {
        const { request } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          request: { uid: string; name: string };
        };
        const denied = mode === 'lock' && request.name === 'locked';
        answer = Buffer.from(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: denied
              ? {
                  uid: request.uid,
                  allowed: false,
                  status: { code: 403, reason: 'Forbidden', message: 'the ConfigMap is locked' },
                }
              : { uid: request.uid, allowed: true },
          }),
        );
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
      res.end(answer);
    });
  },
);
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1', () =>
  process.stdout.write(`ready ${(server.address() as { port: number }).port}\n`),
);
process.on('SIGTERM', () => process.exit(0));
