/** Terminal escape sequences (colours, cursor moves, OSC titles and links) test runners print. */
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** Tool output made safe to store and show: escapes removed, CR as a line break, no control characters but newline and tab. */
export function cleanOutput(text: string): string {
  return text.replace(ESCAPES, '').replace(/\r\n?/g, '\n').replace(CONTROL, '');
}

/**
 * The last lines of `text` (at most `maxLines`) that fit in `maxChars`; a last line longer
 * than that keeps its end, marked with `…`.
 */
export function lastLines(text: string, maxChars: number, maxLines = 40): string {
  const lines = text
    .replace(/\s+$/, '')
    .replace(/^\s*\n/, '')
    .split('\n')
    .slice(-maxLines);
  const kept: string[] = [];
  let size = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] ?? '';
    if (size + line.length + 1 > maxChars) {
      if (kept.length === 0) kept.unshift(`…${line.slice(line.length - maxChars + 1)}`);
      break;
    }
    kept.unshift(line);
    size += line.length + 1;
  }
  return kept.join('\n');
}

/** `s` cut to `max` characters, marked with `…` when cut. */
export function bounded(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** An argv as a reader would type it in a POSIX shell. */
export function shellLine(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
