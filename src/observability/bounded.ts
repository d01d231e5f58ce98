// Log lines stay bounded whatever a request holds: a fuzz run once wrote lines of 1.98 MB
// (a uid, a name or a reason can be as long as the body). Strings taken from requests
// are cut, lists shortened, each saying how much was left out.

/** Longest string taken from a request in a log line. */
export const MAX_LOGGED_STRING = 256;
/** Most items of a list taken from a request in a log line. */
export const MAX_LOGGED_ITEMS = 10;

export function clip(text: string | undefined, max = MAX_LOGGED_STRING): string | undefined {
  if (text === undefined || text.length <= max) return text;
  return `${text.slice(0, max)}…(${text.length - max} more characters)`;
}

export function clipList(items: readonly string[], max = MAX_LOGGED_ITEMS, maxChars = MAX_LOGGED_STRING): string[] {
  const kept = items.slice(0, max).map((s) => clip(s, maxChars)!);
  if (items.length > max) kept.push(`…(${items.length - max} more)`);
  return kept;
}
