// The node's pod network: the CNI bridge plugin on a bridge of our own name, with
// host-local addresses from a range no other network here uses, and the allocation
// records under the cluster directory. No masquerading: pods only ever talk to this
// machine (the apiserver, the kubelet) and to each other, and nothing leaves it.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The bridge the CNI plugin creates; `cluster down` deletes it by this name. */
export const BRIDGE = 'bulwark0';
// A /16 for room: at the end of a whole e2e-full run a new Deployment's pod twice never became
// Ready, while the same test alone passes. Cause not confirmed: a /24's 254 addresses (host-local
// frees one only when its sandbox is torn down) or the kubelet's 110 pods (maxPods, raised too).
export const POD_SUBNET = '10.244.0.0/16';
export const POD_GATEWAY = '10.244.0.1';
/** Service ClusterIPs (the apiserver's --service-cluster-ip-range); 10.0.0.1 is `kubernetes`. */
export const SERVICE_SUBNET = '10.0.0.0/24';
export const KUBERNETES_SERVICE_IP = '10.0.0.1';

export async function writeCniConfig(confDir: string, dataDir: string): Promise<void> {
  await mkdir(confDir, { recursive: true });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const conflist = {
    cniVersion: '1.0.0',
    name: 'bulwark-pods',
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: false,
        // Lets a pod reach a Service whose endpoint is itself (kube-proxy DNATs back to it).
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: POD_SUBNET, gateway: POD_GATEWAY }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir,
        },
      },
    ],
  };
  await writeFile(join(confDir, '10-bulwark.conflist'), `${JSON.stringify(conflist, null, 2)}\n`);
}
