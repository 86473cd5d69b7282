import { Ajv2020 } from 'ajv/dist/2020.js';
import { isObject } from './pointer.js';
import { forEachSchema } from './walk.js';

/**
 * The last check before a schema is listed: valid against the JSON Schema 2020-12 meta-schema, and
 * every `$ref` pointing at an entry of its own `$defs`. A client that meets one bad schema may refuse
 * the whole list (the v1 SDK's listTools() throws), so a tool whose schema fails here is not listed.
 *
 * Tools share their `$defs` entries (the same objects), so each entry is checked once, not once per
 * tool that carries it.
 */
export class SchemaChecker {
  private readonly ajv = new Ajv2020({ strict: false, validateFormats: false, logger: false });
  private readonly checked = new WeakMap<object, string | null>();

  /** Why the schema is not valid, or undefined when it is. */
  problem(schema: Record<string, unknown>): string | undefined {
    const { $defs, ...root } = schema;
    const defs = isObject($defs) ? $defs : {};
    const own = this.metaProblem(root);
    if (own) return own;
    for (const [key, def] of Object.entries(defs)) {
      const found = typeof def === 'object' && def !== null ? this.cached(def) : this.metaProblem(def);
      if (found) return `$defs/${key}: ${found}`;
    }
    for (const node of [root, ...Object.values(defs)]) {
      let dangling: string | undefined;
      forEachSchema(node, (sub) => {
        if (dangling || typeof sub.$ref !== 'string') return;
        const ref = sub.$ref;
        if (ref === '#' || (ref.startsWith('#/$defs/') && Object.hasOwn(defs, ref.slice(8)))) return;
        dangling = ref;
      });
      if (dangling) return `$ref ${JSON.stringify(dangling)} points to nothing in the schema`;
    }
    return undefined;
  }

  private cached(def: object): string | undefined {
    let found = this.checked.get(def);
    if (found === undefined) {
      found = this.metaProblem(def) ?? null;
      this.checked.set(def, found);
    }
    return found ?? undefined;
  }

  private metaProblem(schema: unknown): string | undefined {
    if (typeof schema === 'boolean') return undefined;
    if (this.ajv.validateSchema(schema as object) === true) return undefined;
    return this.ajv.errorsText(this.ajv.errors, { dataVar: 'schema' });
  }
}
