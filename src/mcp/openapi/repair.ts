/**
 * Keyword values the JSON Schema 2020-12 meta-schema forbids, as real documents have them
 * (`pattern: 0`, `type: {type: string}`, `minLength: "3"`, `required: [1]`, `enum: "a"`). Each keyword
 * of a converted schema passes through here: a value that can be read as meant is repaired
 * (`"3"` → 3), anything else is dropped with the reason, so no listed schema fails the meta-schema.
 */
const SIMPLE_TYPES = new Set(['array', 'boolean', 'integer', 'null', 'number', 'object', 'string']);
const NON_NEGATIVE_INTEGERS = new Set([
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'minContains',
  'maxContains',
]);
const NUMBERS = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']);
const STRINGS = new Set([
  'title',
  'description',
  'format',
  'contentMediaType',
  'contentEncoding',
  '$anchor',
  '$dynamicAnchor',
  '$dynamicRef',
]);
const BOOLEANS = new Set(['uniqueItems', 'readOnly', 'writeOnly', 'deprecated']);

export type Repair = { value: unknown } | { drop: string };

/** undefined: the value is fine as it is. */
export function repairKeyword(keyword: string, value: unknown): Repair | undefined {
  if (keyword === 'type') return repairType(value);
  if (NON_NEGATIVE_INTEGERS.has(keyword)) {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return n === value ? undefined : { value: n };
    return { drop: `${keyword} must be a non-negative integer, got ${JSON.stringify(value)}` };
  }
  if (NUMBERS.has(keyword) || keyword === 'multipleOf') {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    const ok = typeof n === 'number' && Number.isFinite(n) && (keyword !== 'multipleOf' || n > 0);
    if (ok) return n === value ? undefined : { value: n };
    return { drop: `${keyword} must be a number, got ${JSON.stringify(value)}` };
  }
  if (STRINGS.has(keyword)) {
    if (typeof value === 'string') return undefined;
    if (typeof value === 'number' || typeof value === 'boolean') return { value: String(value) };
    return { drop: `${keyword} must be a string` };
  }
  if (BOOLEANS.has(keyword)) {
    if (typeof value === 'boolean') return undefined;
    if (value === 'true' || value === 'false') return { value: value === 'true' };
    return { drop: `${keyword} must be a boolean, got ${JSON.stringify(value)}` };
  }
  if (keyword === 'pattern')
    return typeof value === 'string'
      ? undefined
      : { drop: `pattern must be a string, got ${JSON.stringify(value)}` };
  if (keyword === 'enum') {
    if (!Array.isArray(value)) return { drop: `enum must be an array, got ${JSON.stringify(value)}` };
    return undefined;
  }
  if (keyword === 'required') {
    if (!Array.isArray(value)) return { drop: 'required must be an array of names' };
    const names = [...new Set(value.filter((v): v is string => typeof v === 'string'))];
    return names.length === value.length ? undefined : { value: names };
  }
  if (keyword === 'dependentRequired') {
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      return { drop: 'dependentRequired must be an object' };
    const ok = Object.values(value).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'));
    return ok ? undefined : { drop: 'dependentRequired must map names to arrays of names' };
  }
  return undefined;
}

function repairType(value: unknown): Repair | undefined {
  if (typeof value === 'string') {
    if (SIMPLE_TYPES.has(value)) return undefined;
    const lower = value.toLowerCase();
    if (SIMPLE_TYPES.has(lower)) return { value: lower };
    return { drop: `type ${JSON.stringify(value)} is not a JSON Schema type` };
  }
  if (Array.isArray(value)) {
    const types = [
      ...new Set(value.filter((v): v is string => typeof v === 'string').map((v) => v.toLowerCase())),
    ].filter((v) => SIMPLE_TYPES.has(v));
    if (types.length === 0) return { drop: `type ${JSON.stringify(value)} names no JSON Schema type` };
    return types.length === value.length && types.every((t, i) => t === value[i])
      ? undefined
      : { value: types };
  }
  return { drop: `type must be a type name or a list of them, got ${JSON.stringify(value)}` };
}
