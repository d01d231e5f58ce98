// JSON Pointer helpers (RFC 6901) and their rendering for people:
// `/metadata/labels/bulwark.dev~1immutable` reads as `metadata.labels["bulwark.dev/immutable"]`.

export function decodePointerSegment(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function encodePointerSegment(segment: string): string {
  // Most keys need no escape: the diff names every changed path, so skip the regexes then.
  return segment.includes('~') || segment.includes('/') ? segment.replace(/~/g, '~0').replace(/\//g, '~1') : segment;
}

export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map(decodePointerSegment);
}

export function pointerOf(segments: readonly string[]): string {
  return segments.map((s) => `/${encodePointerSegment(s)}`).join('');
}

/** True when `pointer` is `prefix` itself or lies beneath it. */
export function isUnderPointer(pointer: string, prefix: string): boolean {
  return pointer === prefix || (pointer.startsWith(prefix) && pointer.charAt(prefix.length) === '/');
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;
const INDEX = /^(0|[1-9][0-9]*)$/;

export function humanPath(pointer: string): string {
  let out = '';
  for (const segment of pointerSegments(pointer)) {
    if (INDEX.test(segment)) out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(whole object)' : out;
}

/** A valid JSON Pointer is empty or starts with `/` and uses `~` only in `~0`/`~1`. */
export function isValidPointer(pointer: string): boolean {
  return pointer === '' || (pointer.startsWith('/') && !/~(?![01])/.test(pointer));
}
