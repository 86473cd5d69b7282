import { isObject } from './pointer.js';

/** Keywords whose value maps names to schemas: a key there is a name (`default`, `enum`...), never a keyword. */
export const SCHEMA_MAP_KEYWORDS = new Set([
  'properties',
  'patternProperties',
  '$defs',
  'definitions',
  'dependentSchemas',
]);
/** Keywords whose value is a list of schemas. */
export const SCHEMA_LIST_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
/** Keywords whose value is one schema (or, for `items`, a list in the draft-04 form). */
export const SCHEMA_SINGLE_KEYWORDS = new Set([
  'items',
  'additionalProperties',
  'not',
  'contains',
  'if',
  'then',
  'else',
  'propertyNames',
  'unevaluatedProperties',
  'unevaluatedItems',
  'additionalItems',
  'contentSchema',
]);

/**
 * Calls `visit` on a schema and every subschema in it, knowing which keywords hold schemas: the values
 * of `enum`, `const`, `default` and `examples` are data and are not entered, while a *property* named
 * `default` or `enum` is a schema like any other. `path` is the JSON pointer tokens from the root.
 */
export function forEachSchema(
  schema: unknown,
  visit: (node: Record<string, unknown>, path: string[]) => void,
  path: string[] = [],
): void {
  if (!isObject(schema)) return;
  visit(schema, path);
  for (const [keyword, value] of Object.entries(schema)) {
    if (SCHEMA_MAP_KEYWORDS.has(keyword) && isObject(value)) {
      for (const [name, sub] of Object.entries(value)) forEachSchema(sub, visit, [...path, keyword, name]);
    } else if (SCHEMA_LIST_KEYWORDS.has(keyword) && Array.isArray(value)) {
      value.forEach((sub, i) => forEachSchema(sub, visit, [...path, keyword, String(i)]));
    } else if (SCHEMA_SINGLE_KEYWORDS.has(keyword)) {
      if (Array.isArray(value))
        value.forEach((sub, i) => forEachSchema(sub, visit, [...path, keyword, String(i)]));
      else forEachSchema(value, visit, [...path, keyword]);
    }
  }
}
