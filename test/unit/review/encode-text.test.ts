// The server writes the answer as text (encodeResponseText) without building the object
// first: the text must be exactly JSON.stringify of encodeResponse's object, and read back
// to the same uid and message, whatever a uid or reason holds.

import { describe, expect, it } from 'vitest';
import { allow, deny, type Verdict } from '../../../src/decision/verdict.ts';
import { encodeResponse, encodeResponseText } from '../../../src/review/encode.ts';
import { reviewRequest } from '../../../src/review/review.ts';
import { loadReview, reviewNames } from '../../helpers/fixtures.ts';
import { builtinSnapshot } from '../../helpers/snapshots.ts';

/** Quotes, backslashes, every control character, U+2028/2029, lone and paired surrogates, a key like __proto__. */
const NASTY = [
  'plain',
  'a "quoted" \\ back\\slash',
  Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join(''),
  'line\u2028separator\u2029paragraph',
  'lone \ud800 high, lone \udfff low, pair \ud83d\ude00',
  '</script><!-- \u007f \u0080 \ufeff',
  '',
];

function verdicts(text: string): Verdict[] {
  const denied = deny('immutability', text, { [text]: text, reason: text });
  return [
    allow('immutability'),
    { ...allow('images'), warnings: [text, 'x'.repeat(600)], auditAnnotations: { decision: 'warn', note: text } },
    denied,
    { ...denied, reasons: [] },
    { ...denied, reasons: [text, text] },
    { ...denied, failure: { code: 'NOT_SYNCED', retryAfterSeconds: 2 } },
    { ...denied, failure: { code: 'DECISION_FAILED' } },
    { ...allow('x'), auditAnnotations: { '10': 'ten', b: 'b', '2': 'two', ['__proto__']: text, a: 'y'.repeat(2000) } },
  ];
}

describe('encodeResponseText', () => {
  for (const text of NASTY)
    it(`is JSON.stringify(encodeResponse) for uid and reasons ${JSON.stringify(text).slice(0, 40)}`, () => {
      for (const verdict of verdicts(text)) {
        const written = encodeResponseText(text, verdict);
        expect(written).toBe(JSON.stringify(encodeResponse(text, verdict)));
        const read = JSON.parse(written);
        expect(read.response.uid).toBe(text);
        if (!verdict.allowed && verdict.reasons.length === 1) expect(read.response.status.message).toBe(text);
      }
    });

  it('writes the same text as the object for every captured review', () => {
    for (const name of reviewNames()) {
      const { request } = loadReview(name);
      const verdict = reviewRequest({ request, snapshot: builtinSnapshot() });
      expect(encodeResponseText(request.uid, verdict)).toBe(JSON.stringify(encodeResponse(request.uid, verdict)));
    }
  });
});
