import { mergeAllOf } from './allof.js';
import { isObject, put, refTokens, resolveTokens } from './pointer.js';
import { repairKeyword } from './repair.js';
import { forEachSchema, SCHEMA_LIST_KEYWORDS, SCHEMA_MAP_KEYWORDS, SCHEMA_SINGLE_KEYWORDS } from './walk.js';

/** A JSON Schema (2020-12) node as produced here: an object or a boolean. */
export type JsonSchema = Record<string, unknown> | boolean;

export type Dialect = 'swagger2' | 'openapi30' | 'openapi31';

/** OpenAPI-only keywords that are not JSON Schema, and bulky annotations a tool list does not need. */
const DROPPED = new Set([
  'discriminator',
  'xml',
  'externalDocs',
  'nullable',
  'x-nullable',
  'example',
  'examples',
  '$id',
  '$schema',
  '$comment',
]);
/** Single-schema keywords other than `items` (which has a draft-04 list form handled on its own). */
const SCHEMA_SINGLES = new Set([...SCHEMA_SINGLE_KEYWORDS].filter((keyword) => keyword !== 'items'));
/** Deeper than this, a document is hostile or broken; the rest of the branch becomes `{}`. */
const MAX_DEPTH = 64;

interface Def {
  key: string;
  schema: JsonSchema;
  done: boolean;
  deps?: string[];
  size?: number;
}

/**
 * Converts OpenAPI schema objects (2.0 / 3.0 / 3.1) to JSON Schema 2020-12.
 *
 * Every local `$ref` to a schema becomes `{"$ref": "#/$defs/<key>"}` and the target is converted once
 * into a shared table; each tool then carries only the `$defs` it reaches. This keeps recursion finite
 * (a recursive schema is a `$ref` back to its own `$defs` entry, never an infinite expansion) and the
 * output linear in the size of the document. Network `$ref`s are never fetched: they become `{}` with
 * a description saying so, and a warning.
 */
export class SchemaConverter {
  private readonly defs = new Map<string, Def>(); // by pointer string
  private readonly byKey = new Map<string, Def>();
  readonly warnings: string[] = [];

  constructor(
    private readonly document: unknown,
    private readonly dialect: Dialect,
  ) {}

  convert(node: unknown, at: string, depth = 0): JsonSchema {
    if (typeof node === 'boolean') return node;
    if (!isObject(node)) return {};
    if (depth > MAX_DEPTH) {
      this.warn(`schema nested deeper than ${MAX_DEPTH} levels truncated to {}`, at);
      return {};
    }
    if (typeof node.$ref === 'string') return this.convertRef(node, at);

    const out: Record<string, unknown> = {};
    for (const [keyword, value] of Object.entries(node)) {
      if (DROPPED.has(keyword) || keyword.startsWith('x-')) continue;
      if (SCHEMA_MAP_KEYWORDS.has(keyword)) {
        if (!isObject(value)) {
          this.warn(`${keyword} must be an object of schemas; dropped`, at);
          continue;
        }
        const map: Record<string, JsonSchema> = {};
        for (const [name, sub] of Object.entries(value)) {
          if (keyword === 'patternProperties' && !validPattern(name)) {
            this.warn(
              `patternProperties key ${JSON.stringify(name)} is not a valid regular expression; dropped`,
              at,
            );
            continue;
          }
          put(map, name, this.convert(sub, `${at}/${keyword}/${name}`, depth + 1));
        }
        out[keyword === 'definitions' ? '$defs' : keyword] = map;
      } else if (SCHEMA_LIST_KEYWORDS.has(keyword)) {
        if (!Array.isArray(value) || value.length === 0) {
          this.warn(`${keyword} must be a non-empty array of schemas; dropped`, at);
          continue;
        }
        out[keyword] = value.map((sub, i) => this.convert(sub, `${at}/${keyword}/${i}`, depth + 1));
      } else if (SCHEMA_SINGLES.has(keyword)) {
        if (!isObject(value) && typeof value !== 'boolean') {
          this.warn(`${keyword} must be a schema; dropped`, at);
          continue;
        }
        out[keyword] = this.convert(value, `${at}/${keyword}`, depth + 1);
      } else if (keyword === 'items') {
        // Draft-04 tuple form (an array) is prefixItems in 2020-12.
        if (Array.isArray(value)) {
          if (value.length > 0)
            out.prefixItems = value.map((sub, i) => this.convert(sub, `${at}/items/${i}`, depth + 1));
        } else out.items = this.convert(value, `${at}/items`, depth + 1);
      } else if (keyword === 'type' && value === 'file') {
        // Swagger 2.0 file parameters: binary content, carried as base64 by the tool.
        out.type = 'string';
        out.format = 'binary';
      } else if (
        (keyword === 'exclusiveMinimum' || keyword === 'exclusiveMaximum') &&
        typeof value === 'boolean'
      ) {
        const bound = keyword === 'exclusiveMinimum' ? 'minimum' : 'maximum';
        if (value && typeof node[bound] === 'number') out[keyword] = node[bound];
      } else if (keyword === 'pattern' && typeof value === 'string' && !validPattern(value)) {
        // JSON Schema patterns are ECMA-262 with the u flag (as ajv and most clients compile them).
        this.warn(`pattern ${JSON.stringify(value)} is not a valid regular expression; dropped`, at);
      } else if (keyword === 'required' && !Array.isArray(value)) {
        // `required: true` on a property (a common mistake) is not JSON Schema; drop it.
        continue;
      } else {
        const repair = repairKeyword(keyword, value);
        if (repair && 'drop' in repair) this.warn(`${repair.drop}; dropped`, at);
        else out[keyword] = repair ? repair.value : value;
      }
    }
    for (const bound of ['minimum', 'maximum'] as const) {
      const exclusive = bound === 'minimum' ? 'exclusiveMinimum' : 'exclusiveMaximum';
      if (node[exclusive] === true && typeof out[exclusive] === 'number') delete out[bound];
    }
    if (node.nullable === true || node['x-nullable'] === true) addNull(out);
    if (Array.isArray(out.allOf)) return mergeAllOf(out, (ref) => this.defByRef(ref));
    return out;
  }

  /** The converted body of a `#/$defs/<key>` reference, when that definition is complete (not mid-conversion). */
  defByRef(ref: string): Record<string, unknown> | undefined {
    if (!ref.startsWith('#/$defs/')) return undefined;
    const def = this.byKey.get(ref.slice('#/$defs/'.length));
    return def && def.done && isObject(def.schema) ? def.schema : undefined;
  }

  /** Follows a root `$ref` (and merges a root allOf) so the caller sees the schema's own keywords. */
  resolveRoot(schema: JsonSchema): JsonSchema {
    let current = schema;
    for (let hops = 0; hops < 16 && isObject(current) && typeof current.$ref === 'string'; hops++) {
      const target = this.defByRef(current.$ref);
      if (!target) break;
      const { $ref: _ignored, ...siblings } = current;
      current = { ...target, ...siblings };
    }
    return current;
  }

  /**
   * The `$defs` a schema reaches, breadth first (nearest references first), within a size budget in
   * bytes of JSON. Definitions past the budget are not carried: references to them become `{}` with a
   * note, so a schema that reaches half the document (Stripe's responses reach 500 definitions) stays a
   * bounded, still valid, more permissive schema. Returns the schema (rewritten only if something was cut).
   */
  withDefs<T extends Record<string, unknown>>(
    root: T,
    budgetBytes: number,
  ): { schema: T; defs?: Record<string, JsonSchema>; bytes: number } {
    const included = new Map<string, JsonSchema>();
    const excluded = new Set<string>();
    const seen = new Set<string>();
    const queue = directRefs(root);
    let total = 0;
    for (let i = 0; i < queue.length; i++) {
      const key = queue[i]!;
      if (seen.has(key)) continue;
      seen.add(key);
      const def = this.byKey.get(key);
      if (!def) continue;
      def.size ??= JSON.stringify(def.schema).length;
      if (total + def.size > budgetBytes) {
        excluded.add(key);
        continue;
      }
      total += def.size;
      included.set(key, def.schema);
      def.deps ??= directRefs(def.schema);
      queue.push(...def.deps);
    }
    if (included.size === 0 && excluded.size === 0) return { schema: root, bytes: 0 };
    // A definition past the budget is carried as a small stub (shared by every tool that cuts it), so
    // references stay valid and nothing already converted is copied per tool.
    const defs: Record<string, JsonSchema> = {};
    let bytes = total;
    for (const key of [...included.keys(), ...excluded].sort()) {
      put(defs, key, included.has(key) ? included.get(key)! : this.stub(key));
      bytes += key.length + 4 + (included.has(key) ? 0 : key.length + 50); // the key, and a stub's text
    }
    return { schema: root, defs, bytes };
  }

  private readonly stubs = new Map<string, JsonSchema>();

  private stub(key: string): JsonSchema {
    let stub = this.stubs.get(key);
    if (!stub) {
      stub = { description: `A ${key} (schema not expanded: too large)` };
      this.stubs.set(key, stub);
    }
    return stub;
  }

  warn(message: string, at: string): void {
    if (this.warnings.length < 1000) this.warnings.push(`${message} (at ${at})`);
  }

  private convertRef(node: Record<string, unknown>, at: string): JsonSchema {
    const ref = node.$ref as string;
    const tokens = refTokens(ref);
    if (!tokens) {
      this.warn(`external $ref "${ref}" not followed (network and file references are never fetched)`, at);
      return { description: `Unresolved external reference ${ref}` };
    }
    const key = this.ensureDef(ref, tokens, at);
    if (!key) return {};
    const out: Record<string, unknown> = { $ref: `#/$defs/${key}` };
    // 3.1 allows siblings next to $ref; 3.0 ignores them. Keep the ones that help a reader.
    if (typeof node.description === 'string') out.description = node.description;
    if (this.dialect !== 'openapi31' && node.nullable === true) return { anyOf: [out, { type: 'null' }] };
    return out;
  }

  private ensureDef(ref: string, tokens: string[], at: string): string | undefined {
    const pointer = '/' + tokens.join('/');
    const existing = this.defs.get(pointer);
    if (existing) return existing.key;
    const target = resolveTokens(this.document, tokens);
    if (target === undefined) {
      this.warn(`$ref "${ref}" points to nothing in the document`, at);
      return undefined;
    }
    const def: Def = { key: this.keyFor(tokens), schema: {}, done: false };
    this.defs.set(pointer, def);
    this.byKey.set(def.key, def);
    def.schema = this.convert(target, ref.slice(1));
    def.done = true;
    return def.key;
  }

  /** A readable, unique `$defs` key: the component name where there is one, else the pointer flattened. */
  private keyFor(tokens: string[]): string {
    const isComponent =
      (tokens.length === 3 && tokens[0] === 'components' && tokens[1] === 'schemas') ||
      (tokens.length === 2 && tokens[0] === 'definitions');
    const raw = isComponent ? tokens[tokens.length - 1]! : tokens.join('_');
    const base = raw.replace(/[^A-Za-z0-9_.-]/g, '_') || 'schema';
    let key = base;
    for (let n = 2; this.byKey.has(key); n++) key = `${base}_${n}`;
    return key;
  }
}

function validPattern(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

function addNull(schema: Record<string, unknown>): void {
  if (typeof schema.type === 'string') schema.type = schema.type === 'null' ? 'null' : [schema.type, 'null'];
  else if (Array.isArray(schema.type) && !schema.type.includes('null'))
    schema.type = [...schema.type, 'null'];
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
}

/** The `$defs` keys a schema refers to directly, found by walking schemas (not data such as `enum`). */
function directRefs(schema: JsonSchema): string[] {
  const found: string[] = [];
  forEachSchema(schema, (node) => {
    if (typeof node.$ref === 'string' && node.$ref.startsWith('#/$defs/')) found.push(node.$ref.slice(8));
  });
  return found;
}
