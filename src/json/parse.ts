// A JSON parser without recursion that keeps every number exact (see numbers.ts). It runs
// only when a cheap scan says the body may hold such numbers; otherwise `JSON.parse` is
// used (`parseJson`). Nesting costs heap, never stack: a document nested 100,000 levels
// deep parses like a flat one. Optionally it also checks that the text is exactly what
// Go's encoding/json writes for its value (goCanonical), which closes the whitespace,
// escaping and key-order channels of kubectl's last-applied annotation.

import { goQuote, isGoSorted } from './go-text.ts';
import { isRawNumber, mayHoldInexactNumbers, numberFromLiteral } from './numbers.ts';

/** An open container: an array, or an object and the key whose value is being read. */
interface Frame {
  array: unknown[] | undefined;
  object: Record<string, unknown>;
  key: string;
}

const NO_OBJECT: Record<string, unknown> = {};

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const GO_INTEGER = /^-?(?:0|[1-9]\d*)$/;

class NotCanonical extends Error {}

class Parser {
  private pos = 0;
  private readonly text: string;
  private readonly goCanonical: boolean;

  constructor(text: string, goCanonical: boolean) {
    this.text = text;
    this.goCanonical = goCanonical;
  }

  private fail(what: string): never {
    if (this.pos >= this.text.length) throw new SyntaxError(`Unexpected end of JSON input (${what})`);
    throw new SyntaxError(
      `Unexpected ${JSON.stringify(this.text.charAt(this.pos))} in JSON at position ${this.pos} (${what})`,
    );
  }

  private skipSpace(): void {
    const start = this.pos;
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.pos++;
    }
    if (this.goCanonical && this.pos !== start) throw new NotCanonical();
  }

  private expect(char: string): void {
    this.skipSpace();
    if (this.text.charAt(this.pos) !== char) this.fail(`expected ${char}`);
    this.pos++;
  }

  private string(): string {
    const { text } = this;
    const start = this.pos; // at the opening quote
    let end = start + 1;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(end);
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        end += 2;
        continue;
      }
      if (c < 0x20 || Number.isNaN(c)) {
        this.pos = end;
        this.fail(Number.isNaN(c) ? 'unterminated string' : 'control character in string');
      }
      end++;
    }
    const raw = text.slice(start + 1, end);
    let value = raw;
    if (escaped) {
      try {
        value = JSON.parse(text.slice(start, end + 1)) as string;
      } catch {
        this.fail('bad string');
      }
    }
    if (this.goCanonical && goQuote(value) !== raw && goQuote(value, true) !== raw) throw new NotCanonical();
    this.pos = end + 1;
    return value;
  }

  private number(): unknown {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail('bad number');
    const literal = m[0];
    this.pos += literal.length;
    const value = numberFromLiteral(literal);
    if (this.goCanonical && (isRawNumber(value) ? !GO_INTEGER.test(literal) : String(value) !== literal))
      throw new NotCanonical();
    return value;
  }

  private literal(word: string, value: unknown): unknown {
    if (!this.text.startsWith(word, this.pos)) this.fail('bad literal');
    this.pos += word.length;
    return value;
  }

  /** Reads a key and its colon; returns the key. */
  private key(previous?: string): string {
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) !== 0x22) this.fail('expected a key');
    const key = this.string();
    if (this.goCanonical && previous !== undefined && !isGoSorted(previous, key)) throw new NotCanonical();
    this.expect(':');
    return key;
  }

  parse(): unknown {
    const { text } = this;
    const stack: Frame[] = [];
    let value: unknown;
    for (;;) {
      // Read one value; containers push a frame and go on to read their first member.
      this.skipSpace();
      const c = text.charCodeAt(this.pos);
      if (c === 0x7b) {
        // {
        this.pos++;
        const object: Record<string, unknown> = {};
        this.skipSpace();
        if (text.charCodeAt(this.pos) !== 0x7d) {
          stack.push({ array: undefined, object, key: this.key() });
          continue;
        }
        this.pos++;
        value = object;
      } else if (c === 0x5b) {
        // [
        this.pos++;
        const array: unknown[] = [];
        this.skipSpace();
        if (text.charCodeAt(this.pos) !== 0x5d) {
          stack.push({ array, object: NO_OBJECT, key: '' });
          continue;
        }
        this.pos++;
        value = array;
      } else if (c === 0x22) value = this.string();
      else if (c === 0x74) value = this.literal('true', true);
      else if (c === 0x66) value = this.literal('false', false);
      else if (c === 0x6e) value = this.literal('null', null);
      else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) value = this.number();
      else this.fail('expected a value');
      // Store the value in its container; close every container that ends here.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          this.skipSpace();
          if (this.pos < text.length) this.fail('unexpected text after the document');
          return value;
        }
        this.skipSpace();
        const next = text.charCodeAt(this.pos++);
        if (top.array !== undefined) {
          top.array.push(value);
          if (next === 0x2c) break; // ,
          if (next !== 0x5d) {
            this.pos--;
            this.fail('expected , or ]');
          }
          value = top.array;
        } else {
          // __proto__ as a plain assignment would set the prototype; JSON.parse makes it a key.
          if (top.key === '__proto__')
            Object.defineProperty(top.object, top.key, { value, writable: true, enumerable: true, configurable: true });
          else top.object[top.key] = value;
          if (next === 0x2c) {
            top.key = this.key(top.key);
            break;
          }
          if (next !== 0x7d) {
            this.pos--;
            this.fail('expected , or }');
          }
          value = top.object;
        }
        stack.pop();
      }
    }
  }
}

/** Parses JSON exactly: numbers a double cannot hold become raw leaves. Throws SyntaxError. */
export function parseJsonLossless(text: string): unknown {
  return new Parser(text, false).parse();
}

/** `JSON.parse` when the text cannot hold inexact numbers, else the lossless parser. */
export function parseJson(text: string): unknown {
  return mayHoldInexactNumbers(text) ? parseJsonLossless(text) : JSON.parse(text);
}

/**
 * The value of `text` if it is exactly what Go's encoding/json Encoder writes for it
 * (compact, keys sorted, Go's escapes, optionally the Encoder's trailing newline), else
 * undefined. Invalid JSON is undefined too.
 */
export function parseGoCanonicalJson(text: string): unknown {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  try {
    return new Parser(body, true).parse();
  } catch (err) {
    if (err instanceof NotCanonical || err instanceof SyntaxError) return undefined;
    throw err;
  }
}
