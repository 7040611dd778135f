// A small JSON Schema (draft 2020-12) checker for the subset that
// docs/record-schema.json and docs/report-schema.json use. A keyword outside
// that subset throws instead of being ignored: a schema edit the checker does
// not understand must not pass every value. (Short enough that a dependency
// such as ajv would not pay for itself.)

export type Schema = Record<string, unknown>;

/** Keywords that only document. */
const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', '$defs']);
const KEYWORDS = new Set([
  '$ref', 'const', 'enum', 'type', 'minimum', 'maximum', 'pattern', 'minItems', 'items',
  'required', 'properties', 'additionalProperties', 'dependentRequired', 'oneOf',
]);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

/** Every way `value` breaks `schema`, as "PATH: what" lines; [] when it is valid. */
export function validate(schema: Schema, value: unknown, root: Schema = schema, at = '$'): string[] {
  for (const k of Object.keys(schema)) {
    if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k)) throw new Error(`json-schema: keyword ${k} (at ${at}) is not supported`);
  }
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/$defs/', '');
    const target = (root.$defs as Record<string, Schema> | undefined)?.[name];
    if (!target) return [`${at}: unknown $ref ${schema.$ref}`];
    return validate(target, value, root, at);
  }
  if (Array.isArray(schema.oneOf)) {
    const results = (schema.oneOf as Schema[]).map((s) => validate(s, value, root, at));
    const passed = results.filter((r) => r.length === 0).length;
    if (passed === 1) return [];
    if (passed > 1) return [`${at}: matches ${passed} branches of oneOf`];
    // None: the errors of the nearest branch, one whose consts (the record's
    // `event`, the reload's `status`) match if there is one, else the one with fewest errors.
    const consts = (r: string[]) => r.filter((e) => e.includes(': expected const ')).length;
    return results.reduce((a, b) => (consts(b) < consts(a) || (consts(b) === consts(a) && b.length < a.length) ? b : a));
  }
  const errors: string[] = [];
  if ('const' in schema && value !== schema.const) errors.push(`${at}: expected const ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = typeOf(value);
    if (!types.some((t) => t === actual || (t === 'number' && actual === 'integer'))) return [`${at}: expected ${types.join('|')}, got ${actual}`];
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${at}: ${value} < ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${at}: ${value} > ${schema.maximum}`);
  }
  if (typeof value === 'string' && typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
    errors.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errors.push(`${at}: fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((v, i) => errors.push(...validate(schema.items as Schema, v, root, `${at}[${i}]`)));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const k of (schema.required as string[] | undefined) ?? []) if (!(k in obj)) errors.push(`${at}: missing ${k}`);
    for (const [k, needs] of Object.entries((schema.dependentRequired as Record<string, string[]> | undefined) ?? {})) {
      if (k in obj) for (const n of needs) if (!(n in obj)) errors.push(`${at}: ${k} without ${n}`);
    }
    const props = (schema.properties as Record<string, Schema> | undefined) ?? {};
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) errors.push(...validate(props[k], v, root, `${at}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${at}: unexpected ${k}`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...validate(schema.additionalProperties as Schema, v, root, `${at}.${k}`));
    }
  }
  return errors;
}
