// The `bulwark` command as a user runs it: a real child process on Node 24.

import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:tls';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR, REVIEWS_DIR, loadReview } from '../../helpers/fixtures.ts';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'bulwark.js');
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', timeout: 20_000 });

describe('bulwark test', () => {
  it('runs the example suite as a CI step would: JUnit on stdout, exit 0, no colour when piped', () => {
    const r = spawnSync(process.execPath, [BIN, 'test', '-o', 'junit', 'examples/policy-tests'], {
      cwd: join(import.meta.dirname, '..', '..', '..'),
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, FORCE_COLOR: '' },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('<testsuites name="bulwark test" tests="14" failures="0">');
  });
});

describe('the CI examples', () => {
  it('the plain shell step runs the tests, then fails the build on a change to a locked object', () => {
    const root = join(import.meta.dirname, '..', '..', '..');
    const env = {
      ...process.env,
      BULWARK: `${process.execPath} ${BIN}`,
      POLICY_TESTS: 'examples/policy-tests',
      MANIFESTS: 'examples/check/manifests',
      SNAPSHOT: 'examples/check/snapshot.yaml',
      BASE: 'examples/check/manifests', // nothing removed: the same manifests
      JUNIT_FILE: join(tmpdir(), `bulwark-junit-${process.pid}.xml`),
    };
    const r = spawnSync('sh', ['examples/ci/check.sh'], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).toContain('14 passed, 0 failed, 14 cases');
    expect(r.stdout).toContain('DENY ConfigMap payments/app-config');
    expect(r.stdout).toContain('3 manifests: 1 would be denied, 2 allowed');
    expect(r.status).toBe(1);
  });

  it('the GitHub Actions workflow runs the same two commands', async () => {
    const root = join(import.meta.dirname, '..', '..', '..');
    const workflow = await readFile(join(root, 'examples', 'ci', 'github-actions.yaml'), 'utf8');
    expect(workflow).toMatch(/bulwark\.js test policy-tests --junit-file/);
    expect(workflow).toMatch(
      /bulwark\.js check -f deploy --snapshot cluster-snapshot\.yaml --base \/tmp\/base\/deploy/,
    );
    expect(workflow).toMatch(/git worktree add \/tmp\/base FETCH_HEAD/);
  });
});

describe('bulwark review', () => {
  it('prints the response and exits 1 when denied', () => {
    const r = run(['review', join(REVIEWS_DIR, 'configmap-apply-changed.json')]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).response.status.message).toContain('data.color');
  });

  it('exits 0 when allowed, reading standard input', () => {
    const r = run(['review', '-'], JSON.stringify(loadReview('configmap-apply-identical')));
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).response.allowed).toBe(true);
  });

  it('exits 2 with the reason on stderr for bad input', () => {
    const r = run(['review', '-'], '{"kind":"AdmissionReview"}');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/apiVersion/);
    expect(run(['review', '/does/not/exist.json']).status).toBe(2);
  });

  it('--policies applies the policies of a directory', () => {
    // The built-in default denies the captured Deployment image change; a Warn policy for apps allows it with a
    // warning.
    const r = run([
      'review',
      '--policies',
      join(FIXTURES_DIR, 'policies', 'warn'),
      join(REVIEWS_DIR, 'deployment-image-changed.json'),
    ]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).response.warnings[0]).toContain('spec.template.spec.containers[0].image');
  });

  it('--policies with an invalid directory exits 2 with the problems', () => {
    const r = run([
      'review',
      '--policies',
      join(FIXTURES_DIR, 'policies', 'invalid'),
      join(REVIEWS_DIR, 'deployment-image-changed.json'),
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('spec.enforcement');
  });

  it('honours a configured lock label', () => {
    const r = run(['review', '--label-key', 'example.com/frozen', join(REVIEWS_DIR, 'configmap-apply-changed.json')]);
    expect(r.status).toBe(0);
  });

  it('has --help for every command', () => {
    for (const args of [['--help'], ['serve', '--help'], ['review', '--help']]) {
      const r = run(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Usage: bulwark/);
    }
  });
});

describe('on an older Node', () => {
  // The machine's own Node (20 here) cannot strip types: the bin entries re-run themselves
  // with the Node 24 from node_modules, as `kubectl bulwark` on PATH would need.
  const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find(
    (p) => spawnSync(p, ['-v']).status === 0 && !String(spawnSync(p, ['-v']).stdout).startsWith('v24'),
  );
  it.skipIf(!systemNode)('bulwark and kubectl-bulwark still run', () => {
    for (const bin of [BIN, join(BIN, '..', 'kubectl-bulwark.js')]) {
      const r = spawnSync(systemNode!, [bin, '--help'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^Usage: (kubectl )?bulwark/);
    }
  });
});

describe('bulwark serve', () => {
  it('generates a CA when no certificate is given, and drains in-flight requests on SIGTERM', async () => {
    const certDir = await mkdtemp(join(tmpdir(), 'bulwark-cli-'));
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--cluster', 'none', '--cert-dir', certDir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: Record<string, unknown>[] = [];
    let buffered = '';
    child.stdout.on('data', (c: Buffer) => {
      buffered += c.toString();
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        lines.push(JSON.parse(buffered.slice(0, i)));
        buffered = buffered.slice(i + 1);
      }
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await expect.poll(() => lines.find((l) => typeof l.port === 'number'), { timeout: 15_000 }).toBeTruthy();
    const port = lines.find((l) => typeof l.port === 'number')!.port as number;
    expect(lines.some((l) => l.caFile === join(certDir, 'ca.crt'))).toBe(true);
    const ca = await readFile(join(certDir, 'ca.crt'), 'utf8');

    // Send a request's headers and half of its body, then SIGTERM, then the rest.
    const body = JSON.stringify(loadReview('configmap-apply-changed'));
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    let response = '';
    socket.on('data', (c: Buffer) => {
      response += c.toString();
    });
    socket.write(
      `POST /validate HTTP/1.1\r\nhost: localhost\r\ncontent-type: ` +
        `application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    socket.write(body.slice(0, 100));
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    socket.end(body.slice(100));
    expect(await exited).toBe(0);
    expect(response).toMatch(/^HTTP\/1.1 200/);
    expect(response).toContain('"allowed":false');
    expect(lines.some((l) => l.msg === 'stopped')).toBe(true);
    const decision = lines.find((l) => l.msg === 'admission decision');
    expect(decision).toMatchObject({ decision: 'deny', kind: 'v1/ConfigMap', operation: 'UPDATE' });
    expect(decision).toHaveProperty('uid');
    expect(decision).toHaveProperty('user');
  });
});
