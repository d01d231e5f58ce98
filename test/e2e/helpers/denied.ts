// A denial by Bulwark as kubectl prints it. The catch-all registration (registration.ts) has one
// entry, `immutability.bulwark.dev`, that answers everything. The chart's registration
// (`npm run test:e2e-chart`) has one entry per route, and more than one may match a request: a
// Pod created with the lock label is sent to both the immutability and the images entries. The
// apiserver calls them in parallel and reports the first denial to arrive, so any Bulwark entry
// may be the one named.

export const DENIED_BY_BULWARK = /admission webhook "[a-z]+\.bulwark\.dev" denied the request/;

/** DENIED_BY_BULWARK followed by `rest` (literal text). */
export const deniedWith = (rest: string): RegExp =>
  new RegExp(`${DENIED_BY_BULWARK.source}${rest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
