// Baselines for `npm run bench`, each its own process like Bulwark:
//   node bench/noop-responder.ts PORT CERT KEY           a fixed allow, body ignored (the no-op)
//   node bench/noop-responder.ts PORT CERT KEY parse     reads and JSON-parses the review and
//                                                        echoes its uid: the least any webhook
//                                                        that looks at the request must do

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
      if (mode === 'parse') chunks.push(c);
    });
    req.on('end', () => {
      let answer = fixed;
      if (mode === 'parse' && req.method === 'POST') {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: { uid: string } };
        answer = Buffer.from(
          JSON.stringify({
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            response: { uid: review.request.uid, allowed: true },
          }),
        );
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
      res.end(answer);
    });
  },
);
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
