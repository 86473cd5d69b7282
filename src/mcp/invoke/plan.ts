/**
 * How one tool call becomes one HTTP request. mcp/openapi builds a plan per operation; mcp/invoke
 * executes it. The plan is plain data so the protocol layer never sees OpenAPI.
 */
export type ParamLocation = 'path' | 'query' | 'header' | 'cookie';

export type ParamStyle =
  'simple' | 'label' | 'matrix' | 'form' | 'spaceDelimited' | 'pipeDelimited' | 'tabDelimited' | 'deepObject';

export interface ParamPlan {
  /** The argument name in the tool's inputSchema (may carry a `__query`-style suffix after a clash). */
  arg: string;
  /** The parameter name on the wire. */
  name: string;
  in: ParamLocation;
  style: ParamStyle;
  explode: boolean;
  allowReserved: boolean;
  /** Set when the parameter uses `content` instead of `schema`: the value is serialized as this media type (JSON). */
  contentType?: string;
}

export type BodyKind = 'json' | 'form' | 'multipart' | 'text' | 'binary';

export interface BodyEncoding {
  style?: ParamStyle;
  explode?: boolean;
  contentType?: string;
}

/** How to send the body in one media type. */
export interface BodyOption {
  mediaType: string;
  kind: BodyKind;
  /** Top-level form fields that carry files ({data: base64, contentType?, filename?}), and whether they are arrays. */
  fileFields: Record<string, 'single' | 'array'>;
  /** OpenAPI `encoding` per form field (style/explode for urlencoded, contentType for multipart). */
  encoding: Record<string, BodyEncoding>;
  /**
   * Set when a form or multipart schema is not an object, so the argument is the whole body: `file` /
   * `files` (multipart: one file, a list of files, sent as parts named `file`), `text` (urlencoded:
   * the encoded text itself).
   */
  whole?: 'file' | 'files' | 'text';
  /** With a choice of media types whose shapes differ: this type's member of the body argument's anyOf. */
  variant?: number;
}

export interface BodyPlan extends BodyOption {
  /** The argument carrying the body: `body` (or `body__body` after a clash). */
  arg: string;
  /** When the operation accepts several media types: the argument naming the chosen one, and each option. */
  choice?: { arg: string; options: BodyOption[] };
}

/** A security scheme the invoker can fill from a configured credential. */
export type SecurityScheme =
  | { type: 'apiKey'; in: 'header' | 'query' | 'cookie'; name: string }
  | { type: 'http'; scheme: 'bearer' | 'basic' }
  | { type: 'oauth2'; tokenUrl: string };

/** One way to authenticate an operation: every listed scheme together (none: anonymous). */
export type SecurityRequirement = Array<{ scheme: string; scopes: string[] }>;

export interface OperationPlan {
  method: string;
  /** The OpenAPI path template, e.g. `/pet/{petId}`. */
  pathTemplate: string;
  /** The path of the spec's server URL (`/v2`), used when the upstream URL has no path of its own. */
  basePath: string;
  params: ParamPlan[];
  body?: BodyPlan;
  /** The Accept header to send (from the documented response media types). */
  accept: string;
  /** The operation's security requirements (alternatives), when the document states any. */
  security?: SecurityRequirement[];
}
