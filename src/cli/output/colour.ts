// Colour only for a person at a terminal: never when output is piped or captured, and
// never when NO_COLOR is set to anything non-empty (https://no-color.org); FORCE_COLOR
// turns it on for a terminal emulator that is not a TTY (CI logs that render ANSI).

export interface Paint {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

export function wantsColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

const sgr = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string) => text;

export function paint(enabled: boolean): Paint {
  return enabled
    ? { green: sgr(32, 39), red: sgr(31, 39), yellow: sgr(33, 39), bold: sgr(1, 22), dim: sgr(2, 22) }
    : { green: plain, red: plain, yellow: plain, bold: plain, dim: plain };
}
