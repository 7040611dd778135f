#!/usr/bin/env node
// Writes src/record/schema-types.ts from docs/record-schema.json: one type per
// $def (PascalCase + "Json"), so that src/record/types.ts builds the records'
// types from the schema instead of spelling them a second time. Run by
// scripts/build-ts.sh; test/unit/record-schema.test.ts fails when the file in
// the tree is not what this writes. With --stdout, prints instead of writing.
//
// Only the keywords the schema uses are understood (const, enum, type,
// properties/required, items, $ref, oneOf); any other that would change the
// type stops the script, so a schema edit cannot be silently dropped here.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMA = path.join(ROOT, 'docs', 'record-schema.json');
const OUT = path.join(ROOT, 'src', 'record', 'schema-types.ts');

// Keywords that constrain values but not their TypeScript type.
const VALUE_ONLY = new Set(['description', 'minimum', 'maximum', 'pattern', 'minItems', 'additionalProperties', 'dependentRequired']);
const TYPED = new Set(['const', 'enum', 'type', 'properties', 'required', 'items', '$ref', 'oneOf']);

const schema = JSON.parse(fs.readFileSync(SCHEMA, 'utf8'));
const defs = schema.$defs;

const typeName = (def) => def.replace(/(^|_)([a-z])/g, (_, __, c) => c.toUpperCase()) + 'Json';

/** A def that is a plain value (no object, no union of them) is written inline where it is used. */
const inline = (def) => !defs[def].properties && !defs[def].oneOf;

function tsOf(s, indent) {
  for (const k of Object.keys(s)) {
    if (!VALUE_ONLY.has(k) && !TYPED.has(k)) throw new Error(`gen-record-types: keyword ${k} is not understood`);
  }
  if (s.$ref) {
    const def = s.$ref.replace('#/$defs/', '');
    if (!defs[def]) throw new Error(`gen-record-types: no $def ${def}`);
    return inline(def) ? tsOf(defs[def], indent) : typeName(def);
  }
  if ('const' in s) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.oneOf) return s.oneOf.map((x) => tsOf(x, indent)).join(' | ');
  const types = Array.isArray(s.type) ? s.type : [s.type];
  return types
    .map((t) => {
      switch (t) {
        case 'string': return 'string';
        case 'integer':
        case 'number': return 'number';
        case 'boolean': return 'boolean';
        case 'null': return 'null';
        case 'array': return `${wrap(tsOf(s.items, indent))}[]`;
        case 'object': return objectOf(s, indent);
        default: throw new Error(`gen-record-types: type ${t} is not understood`);
      }
    })
    .join(' | ');
}

const wrap = (t) => (/[|&]/.test(t) ? `(${t})` : t);

function objectOf(s, indent) {
  const required = new Set(s.required ?? []);
  const pad = '  '.repeat(indent + 1);
  const lines = Object.entries(s.properties ?? {}).map(([k, v]) => {
    const doc = v.description ? `${pad}/** ${v.description} */\n` : '';
    return `${doc}${pad}${k}${required.has(k) ? '' : '?'}: ${tsOf(v, indent + 1)};`;
  });
  return `{\n${lines.join('\n')}\n${'  '.repeat(indent)}}`;
}

const out = [
  '// Generated from docs/record-schema.json by scripts/gen-record-types.js: do not edit.',
  '// The types of the records as written (--format json); src/record/types.ts builds on them.',
  '',
];
for (const [def, s] of Object.entries(defs)) {
  if (inline(def)) continue;
  if (s.description) out.push(`/** ${s.description} */`);
  out.push(`export type ${typeName(def)} = ${tsOf(s, 0)};`, '');
}
out.push('/** Any line of a JSON log. */', `export type RecordJson = ${tsOf({ oneOf: schema.oneOf }, 0)};`, '');
const text = out.join('\n');

if (process.argv.includes('--stdout')) process.stdout.write(text);
else if (!fs.existsSync(OUT) || fs.readFileSync(OUT, 'utf8') !== text) fs.writeFileSync(OUT, text);
