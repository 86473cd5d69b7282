/** A document that cannot be used at all (unreadable, not OpenAPI, wrong shape). The message names the problem. */
export class SpecError extends Error {
  constructor(
    message: string,
    /** JSON pointer (or file/URL) of the offending part, when there is one. */
    readonly where?: string,
  ) {
    super(where ? `${message} (at ${where})` : message);
    this.name = 'SpecError';
  }
}

/** A problem confined to one operation: the operation is skipped and reported, the rest still converts. */
export class OperationError extends Error {
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(`${message} (at ${where})`);
    this.name = 'OperationError';
  }
}
