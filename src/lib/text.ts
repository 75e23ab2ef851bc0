/** True when `value` contains NUL or any other C0 control character, or DEL. */
export function hasControlCharacters(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * Compares two strings in UTF-8 byte order (= code point order), the order of SQLite's BINARY
 * and PostgreSQL's "C" collation; JavaScript's `<` compares UTF-16 units, which differs where a
 * surrogate meets a unit from U+E000 up.
 */
export function byteOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates (U+D800–DFFF) above the rest of the BMP, where their code points sort. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

// CSI (ESC [ … final), OSC (ESC ] … BEL or ST), other two-byte escapes, then C0/C1 controls,
// DEL and the bidi embedding/override/isolate marks, which can make text read other than it is.
const ESCAPES =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u009b[0-?]*[ -/]*[@-~]|\u001b[@-_]?/g;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Agent-written text (BLOCKED.md, log lines, questions) made safe to print on a terminal:
 * escape sequences and control characters are removed, so an agent cannot move the cursor,
 * retitle the window or hide text. Newlines and tabs are kept.
 */
export function printable(text: string): string {
  return text.replace(ESCAPES, '').replace(UNPRINTABLE, '');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True when `value` holds a lone surrogate (not valid UTF-16, so not valid UTF-8 on disk or on
 * the wire) or an invisible format character such as a bidi override (U+202E), which makes a
 * name read other than it is.
 */
export function hasUnsafeUnicode(value: string): boolean {
  return LONE_SURROGATE.test(value) || /\p{Cf}/u.test(value);
}

/** Hides the password of a connection URL for logs and output. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
