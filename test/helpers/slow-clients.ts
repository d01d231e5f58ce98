// Run as its own process (so that the clients' own work does not slow the test's
// measurements): opens COUNT TLS connections to 127.0.0.1:PORT, sends one header byte a
// second on each; prints `connected` after the handshakes, `half closed`, and
// {"closedAfterMs": [...]} once the server has closed them all.
// Usage: node slow-clients.ts PORT CA_FILE COUNT

import { readFileSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';

const [port, caFile, count] = process.argv.slice(2);
const ca = readFileSync(caFile!, 'utf8');
const header = 'POST /validate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n';

const sockets: TLSSocket[] = [];
let handshakes = 0;
let closedCount = 0;
let sent = 1;
const trickle = setInterval(() => {
  for (const socket of sockets) if (!socket.destroyed) socket.write(header.charAt(sent % header.length));
  sent++;
}, 1_000);
const closed = await Promise.all(
  Array.from(
    { length: Number(count) },
    () =>
      new Promise<number>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: Number(port), ca, servername: 'localhost' });
        let opened = performance.now();
        socket.once('secureConnect', () => {
          opened = performance.now();
          socket.write(header.charAt(0));
          if (++handshakes === Number(count)) process.stdout.write('connected\n');
        });
        socket.on('error', () => {});
        socket.once('close', () => {
          if (++closedCount === Math.ceil(Number(count) / 2)) process.stdout.write('half closed\n');
          resolve(performance.now() - opened);
        });
        sockets.push(socket);
      }),
  ),
);
clearInterval(trickle);
process.stdout.write(`${JSON.stringify({ closedAfterMs: closed })}\n`);
