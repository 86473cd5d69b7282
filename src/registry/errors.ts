/**
 * The OCI Distribution error codes (spec "Error Codes" table) and the HTTP status each is sent with.
 * Every failure a registry client sees is one of these, as `{"errors":[{code,message,detail}]}`.
 */
export const OCI_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
} as const;

export type OciErrorCode = keyof typeof OCI_ERROR_STATUS;

export class OciError extends Error {
  readonly status: number;
  constructor(
    readonly code: OciErrorCode,
    message: string,
    options: { status?: number; detail?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'OciError';
    this.status = options.status ?? OCI_ERROR_STATUS[code];
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  toJSON(): { errors: { code: string; message: string; detail?: unknown }[] } {
    return {
      errors: [
        {
          code: this.code,
          message: this.message,
          ...(this.detail === undefined ? {} : { detail: this.detail }),
        },
      ],
    };
  }
}
