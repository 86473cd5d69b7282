/** A query the caller got wrong; the message says what and is safe to show (HTTP 400). */
export class LogQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogQueryError';
  }
}
