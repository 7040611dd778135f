// What a record field may carry to a log line or a terminal. Names chosen by
// the audited user (a file, a program path, an argument) must not forge a
// line (CR, LF, U+2028), drive the terminal (C0/C1 controls: ESC, U+009B CSI)
// or reorder what the reader sees (bidirectional overrides such as U+202E).

/** C0 and C1 controls, DEL, line/paragraph separators, bidi marks, embeddings, overrides and isolates. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
// eslint-disable-next-line no-control-regex
const NEEDS_QUOTES = /[\x00-\x20"\\\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

function hex(ch: string): string {
  const cp = ch.codePointAt(0)!;
  return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
}

/**
 * The text format's one rule for every field: a value made only of printable
 * characters other than space, `"` and `\` is written as it is; any other is
 * put in double quotes, with `\"`, `\\`, `\n`, `\r`, `\t`, and `\xHH` or
 * `\u{H...}` for every other character of the unsafe set.
 */
export function quoteText(s: string): string {
  if (s !== '' && !NEEDS_QUOTES.test(s)) return s;
  return `"${s.replace(/["\\]/g, (ch) => NAMED[ch]!).replace(UNSAFE, (ch) => NAMED[ch] ?? hex(ch))}"`;
}

/**
 * The seed format's rule (docs/seed-format.md): CR and LF become spaces, as
 * the original execlog did for argv; every other character of the unsafe set
 * becomes `?`. Applied to argv, the exec file and the program path.
 */
export function seedSafe(s: string): string {
  return s.replace(UNSAFE, (ch) => (ch === '\n' || ch === '\r' ? ' ' : '?'));
}

/**
 * JSON text with every character of the unsafe set that JSON.stringify leaves
 * raw (DEL, C1, U+2028, U+2029, bidi controls) written as \uXXXX: the value
 * parses back the same, and no raw control reaches a terminal or a tool that
 * splits lines on U+2028 or NEL. These characters occur only inside strings.
 */
export function jsonSafe(json: string): string {
  // Almost every record has none of them: one scan without the Unicode flag first.
  if (!JSON_UNSAFE_TEST.test(json)) return json;
  return json.replace(UNSAFE, (ch) => `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

/** The unsafe set minus C0 controls (JSON.stringify escapes those itself); all BMP, so no `u` flag. */
// eslint-disable-next-line no-control-regex
const JSON_UNSAFE_TEST = /[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
