// Numbers in JSON a double cannot hold exactly. `JSON.parse` reads 9007199254740993 and
// 9007199254740992 as the same double, so a change between them would be invisible. The
// lossless parser (parse.ts) keeps such literals as `JSON.rawJSON` leaves: frozen objects
// that `JSON.stringify` writes back verbatim. Everything that compares values compares
// numbers through `sameNumber`, which is exact for both kinds.

/** What `JSON.rawJSON` returns: a frozen, prototype-less object holding the literal. */
export interface RawNumber {
  readonly rawJSON: string;
}

// The standard library types of our TypeScript target predate JSON.rawJSON (Node 21+).
const json = JSON as JSON & { rawJSON(text: string): RawNumber; isRawJSON(value: unknown): value is RawNumber };

export function rawNumber(literal: string): RawNumber {
  return json.rawJSON(literal);
}

export function isRawNumber(value: unknown): value is RawNumber {
  return typeof value === 'object' && value !== null && json.isRawJSON(value);
}

/**
 * Whether a body may hold a number literal a double cannot represent exactly: 16 or more
 * digits and points, or an exponent, right after `:`, `,` or `[`. Up to 15 significant digits without an exponent,
 * distinct decimals are
 * always distinct doubles, so bodies without a match parse exactly with `JSON.parse`.
 * False positives (such text inside a string, 15 digits and a point) only cost the
 * slower parser. JSON's four whitespace characters are spelled out: `\s` makes the scan
 * half as fast, and the common start is matched once (two alternatives from `:` cost twice:
 * a seventh of JSON.parse's time on the bench's Deployment). About a tenth of JSON.parse's time.
 */
const INEXACT_NUMBER = /[:,[][ \t\r\n]*-?\d(?:[\d.]{15}|[\d.]*[eE])/;

export function mayHoldInexactNumbers(text: string): boolean {
  return INEXACT_NUMBER.test(text);
}

const SHORT_INTEGER = /^-?\d{1,15}$/;

/**
 * The value for a number literal: a plain number when the double reads back as the same
 * decimal (so distinct plain numbers always stand for distinct decimals), else a raw leaf.
 */
export function numberFromLiteral(literal: string): number | RawNumber {
  const value = Number(literal);
  if (SHORT_INTEGER.test(literal) || String(value) === literal) return value;
  if (Number.isFinite(value) && canonicalDecimal(String(value)) === canonicalDecimal(literal)) return value;
  return rawNumber(literal);
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * The exact value of a JSON number literal as `[-]DIGITSeEXPONENT` with no leading or
 * trailing zeros in DIGITS: equal values give equal strings (`1.50`, `15e-1`, `1.5`).
 */
export function canonicalDecimal(literal: string): string {
  const m = DECIMAL.exec(literal);
  if (!m) return literal;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = m;
  let digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return '0';
  const trimmed = digits.replace(/0+$/, '');
  const scale = BigInt(exponent) - BigInt(fraction.length) + BigInt(digits.length - trimmed.length);
  digits = trimmed;
  return `${sign}${digits}e${scale}`;
}

function literalOf(value: number | RawNumber): string {
  return typeof value === 'number' ? String(value) : value.rawJSON;
}

export function isJsonNumber(value: unknown): value is number | RawNumber {
  return typeof value === 'number' || isRawNumber(value);
}

/** Exact equality of two JSON numbers, whichever way each was read. */
export function sameNumber(a: number | RawNumber, b: number | RawNumber): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  return canonicalDecimal(literalOf(a)) === canonicalDecimal(literalOf(b));
}
