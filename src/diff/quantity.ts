// Kubernetes resource quantities compared by value. The apiserver stores quantities in
// canonical form (`cpu: 0.5` is stored as "500m", `1.5Gi` as "1536Mi"), so a manifest,
// and kubectl's last-applied record of it, may spell a live value differently.

// <sign><digits>[.<digits>]<suffix>, suffix binary SI, decimal SI or an exponent (e.g. 1e3).
// Lengths and exponents are bounded so that comparing stays cheap (no 10^999 BigInts).
const QUANTITY = /^([+-]?)(\d*)(?:\.(\d*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)|[eE]([+-]?\d{1,2}))?$/;

const DECIMAL_SUFFIX: Record<string, number> = { m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** value = sign * digits * 10^exp10 * 2^exp2 */
interface Exact {
  negative: boolean;
  digits: bigint;
  exp10: number;
  exp2: number;
}

function parseQuantity(text: string): Exact | undefined {
  if (text.length === 0 || text.length > 64) return undefined;
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, sign, whole = '', fraction = '', suffix, exponent] = m;
  if (whole === '' && fraction === '') return undefined;
  return {
    negative: sign === '-',
    digits: BigInt(`${whole}${fraction}` || '0'),
    exp10: (suffix ? (DECIMAL_SUFFIX[suffix] ?? 0) : Number(exponent ?? 0)) - fraction.length,
    exp2: suffix ? (BINARY_SUFFIX[suffix] ?? 0) : 0,
  };
}

function scaled(q: Exact, exp10: number, exp2: number): bigint {
  return q.digits * 10n ** BigInt(q.exp10 - exp10) * 2n ** BigInt(q.exp2 - exp2);
}

/** Whether two spellings (strings, or a number as YAML gives it) denote the same quantity. */
export function sameQuantity(a: string, b: string): boolean {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  if (!x || !y) return false;
  if (x.digits === 0n && y.digits === 0n) return true;
  if (x.negative !== y.negative) return false;
  const exp10 = Math.min(x.exp10, y.exp10);
  const exp2 = Math.min(x.exp2, y.exp2);
  return scaled(x, exp10, exp2) === scaled(y, exp10, exp2);
}
