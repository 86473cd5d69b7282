import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { InvalidToolCall } from './types.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object in some loaders.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => void;

/**
 * Argument validation against a tool's inputSchema, compiled lazily (a 1,200-tool document must not
 * pay for 1,200 compilations up front) and cached per schema object.
 */
export class ArgumentValidator {
  // Created on the first call: building a catalog (and every hot reload) should not pay for ajv's setup.
  // One instance per catalog, so a reload drops the old compiled schemas with the old catalog.
  private ajv?: Ajv2020;
  private readonly compiled = new WeakMap<object, ValidateFunction>();

  compile(schema: object): ValidateFunction {
    let validate = this.compiled.get(schema);
    if (!validate) {
      if (!this.ajv) {
        // strict: false because OpenAPI documents carry annotations ajv does not know (legal in JSON Schema).
        // ownProperties: an argument named `toString` or `constructor` must not be found on Object.prototype.
        this.ajv = new Ajv2020({
          strict: false,
          allErrors: true,
          ownProperties: true,
          validateFormats: true,
          logger: false,
        });
        addFormats(this.ajv);
      }
      validate = this.ajv.compile(schema);
      this.compiled.set(schema, validate);
    }
    return validate;
  }

  check(tool: string, schema: object, args: Record<string, unknown>): void {
    const validate = this.compile(schema);
    if (validate(args)) return;
    throw new InvalidToolCall(
      `invalid arguments for tool "${tool}": ${describeErrors(validate.errors ?? []).join('; ')}`,
    );
  }
}

/**
 * Every failing field once, each naming the field and what it expected: `"body.name" must be string`,
 * `missing required argument "petId"`. Ajv's bookkeeping errors (the `anyOf`/`if` that merely
 * summarize the errors of their branches) are left out when more precise ones exist.
 */
export function describeErrors(errors: ErrorObject[]): string[] {
  const precise = errors.filter((e) => !['anyOf', 'oneOf', 'if', 'allOf'].includes(e.keyword));
  const lines = (precise.length > 0 ? precise : errors).map(describeError);
  return lines.length > 0 ? [...new Set(lines)] : [describeError(undefined)];
}

/** One error, naming the field: `body.name must be string`, `missing required argument "petId"`. */
export function describeError(error: ErrorObject | undefined): string {
  if (!error) return 'arguments do not match the input schema';
  const field = error.instancePath
    .split('/')
    .slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') {
    const name = field ? `${field}.${String(params.missingProperty)}` : String(params.missingProperty);
    return `missing required argument "${name}"`;
  }
  if (error.keyword === 'additionalProperties') {
    const name = field ? `${field}.${String(params.additionalProperty)}` : String(params.additionalProperty);
    return `unknown argument "${name}"`;
  }
  const allowed =
    error.keyword === 'enum' && Array.isArray(params.allowedValues)
      ? ` (${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')})`
      : '';
  return `${field ? `"${field}"` : 'arguments'} ${error.message ?? 'is invalid'}${allowed}`;
}

/**
 * `null` for an argument the tool does not require means "not given" (models send it for arguments
 * they skip): it is left out rather than failing a schema that does not allow null.
 */
export function withoutOptionalNulls(
  schema: Record<string, unknown>,
  args: Record<string, unknown>,
): Record<string, unknown> {
  const required = Array.isArray(schema.required) ? (schema.required as unknown[]) : [];
  let out: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(args)) {
    if (value !== null || required.includes(key)) continue;
    out ??= { ...args };
    delete out[key];
  }
  return out ?? args;
}
