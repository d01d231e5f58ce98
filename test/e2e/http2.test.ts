// kube-apiserver calls Bulwark over HTTP/2 when Bulwark offers it (`--http2=true`, as the
// e2e harness runs it). It offers ALPN `h2,http/1.1` (a Go client); Bulwark then takes h2
// (secure-server.ts), so the apiserver multiplexes its reviews on one connection instead
// of opening one per review in flight. The proof is Bulwark's own
// count of requests by protocol, before and after writes through the apiserver.

import { describe, expect, it } from 'vitest';
import { kubectl, LOCK_LABEL, newNamespace } from '../../harness/context.ts';
import { kubectlOk } from '../../harness/kubectl.ts';
import { webhookMetrics } from './helpers/audit.ts';

const count = (text: string, protocol: string) =>
  Number(new RegExp(`^bulwark_http_requests_total\\{protocol="${protocol}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);

describe('the apiserver speaks HTTP/2 to Bulwark', () => {
  it('sends its reviews over h2, concurrent ones included, and each is decided', async () => {
    const ns = await newNamespace('h2');
    await kubectlOk(kubectl, ['create', 'configmap', 'cfg', '-n', ns, '--from-literal=color=blue']);
    await kubectlOk(kubectl, ['label', 'configmap', 'cfg', '-n', ns, `${LOCK_LABEL.key}=${LOCK_LABEL.value}`]);
    const before = await webhookMetrics();
    const patches = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        kubectl(['patch', 'configmap', 'cfg', '-n', ns, '-p', JSON.stringify({ data: { color: `red-${i}` } })]),
      ),
    );
    for (const p of patches) {
      expect(p.code).not.toBe(0);
      expect(p.stderr).toContain('is locked');
    }
    const after = await webhookMetrics();
    // Other test files write through the apiserver at the same time: at least these ten came by h2.
    expect(count(after, 'h2') - count(before, 'h2')).toBeGreaterThanOrEqual(10);
    // The metrics reads themselves are this test's only HTTP/1.1 requests; other files' reads may add a few.
    expect(count(after, 'http/1.1') - count(before, 'http/1.1')).toBeLessThan(10);
  });
});
