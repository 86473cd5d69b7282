/**
 * C0 controls (U+0000-U+001F) other than tab, DEL and the C1 controls (U+0080-U+009F): what a
 * terminal acts on rather than prints. ESC starts sequences that set the window title, move the
 * cursor or rewrite the screen, CR returns to the start of the line, and a UTF-8 terminal may take
 * U+009B as CSI. Text a site wrote must reach a terminal inert, or one site could print a line that
 * looks like another site's ERROR line, or retitle the window.
 */
// eslint-disable-next-line no-control-regex -- control characters are what is matched
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex -- control characters are what is matched
const CONTROLS_BUT_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

const escape = (c: string) =>
  c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/**
 * Writes every control character but tab as a visible escape (`\r`, `\n`, `\x1b`, `\x9b`). With
 * `keepNewlines`, newlines stay, for multi-line text that Berth itself laid out (a startup log);
 * otherwise the newline that ends the printed line is the only one, so one record is one line.
 */
export function escapeControls(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(options.keepNewlines ? CONTROLS_BUT_NEWLINE : CONTROLS, escape);
}

/**
 * JSON text made inert for a terminal: JSON.stringify (and pino) escape C0 already but leave DEL and
 * C1 as they are; they are written as `\u00XX` here, which parses back to the same value.
 */
export function inertJson(json: string): string {
  return json.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function jsonForTerminal(value: unknown, indent?: number): string {
  return inertJson(JSON.stringify(value, null, indent));
}
