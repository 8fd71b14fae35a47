/**
 * The API reference at `/docs`: one self-contained HTML page rendered on the server from the
 * OpenAPI document (no scripts, no external assets: it works without internet access). Routes are
 * grouped by tag, each with its method, path, summary, parameters, request body and responses;
 * named schemas are listed once at the end and linked.
 */

/** The parts of an OpenAPI 3.1 document the page reads (loosely typed: it is generated JSON). */
export interface OpenApiDocumentLike {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<string, Record<string, unknown> | undefined>;
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
}

type Json = Record<string, unknown>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;
const MAX_DEPTH = 8;

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Escaped text with `code` spans. */
function prose(text: unknown): string {
  if (typeof text !== 'string' || text === '') return '';
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function anchorOf(kind: string, name: string): string {
  return `${kind}-${name.replace(/[^A-Za-z0-9_-]+/g, '-')}`;
}

function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1);
}

/** Constraints worth showing next to a type: format, bounds, pattern, default. */
function constraints(schema: Json): string {
  const notes: string[] = [];
  if (typeof schema.format === 'string') notes.push(schema.format);
  if (schema.minimum !== undefined) notes.push(`≥ ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) notes.push(`> ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) notes.push(`≤ ${schema.maximum}`);
  if (schema.minLength !== undefined) notes.push(`length ≥ ${schema.minLength}`);
  if (schema.maxLength !== undefined) notes.push(`length ≤ ${schema.maxLength}`);
  if (schema.minItems !== undefined) notes.push(`items ≥ ${schema.minItems}`);
  if (schema.maxItems !== undefined) notes.push(`items ≤ ${schema.maxItems}`);
  if (typeof schema.pattern === 'string') notes.push(`pattern <code>${escapeHtml(schema.pattern)}</code>`);
  if (schema.default !== undefined)
    notes.push(`default <code>${escapeHtml(JSON.stringify(schema.default))}</code>`);
  if (schema.example !== undefined)
    notes.push(`e.g. <code>${escapeHtml(JSON.stringify(schema.example))}</code>`);
  return notes.length > 0 ? ` <span class="note">(${notes.join(', ')})</span>` : '';
}

/** A schema as HTML: a type expression, with a nested list for object properties. */
export function renderSchema(schema: unknown, depth = 0): string {
  if (!isObject(schema)) return '<span class="type">any</span>';
  if (typeof schema.$ref === 'string') {
    const name = refName(schema.$ref);
    return `<a class="type" href="#${anchorOf('schema', name)}">${escapeHtml(name)}</a>`;
  }
  if (depth > MAX_DEPTH) return '<span class="type">…</span>';
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = schema[key];
    if (Array.isArray(list)) {
      const joiner = key === 'allOf' ? ' &amp; ' : ' | ';
      return list.map((s) => renderSchema(s, depth + 1)).join(joiner) + constraints(schema);
    }
  }
  if (Array.isArray(schema.enum)) {
    const values = schema.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(' | ');
    return values + constraints(schema);
  }
  if (schema.const !== undefined) return `<code>${escapeHtml(JSON.stringify(schema.const))}</code>`;
  const types = Array.isArray(schema.type) ? schema.type.map(String) : [String(schema.type ?? '')];
  const nullable = types.includes('null') || schema.nullable === true;
  const main = types.filter((t) => t !== 'null' && t !== '');
  let html: string;
  if (main.includes('array') || schema.items !== undefined) {
    html = `array of ${renderSchema(schema.items, depth + 1)}`;
  } else if (main.includes('object') || isObject(schema.properties)) {
    html = renderObject(schema, depth);
  } else {
    html = `<span class="type">${escapeHtml(main.join(' | ') || 'any')}</span>`;
  }
  return (nullable ? `${html} | <span class="type">null</span>` : html) + constraints(schema);
}

function renderObject(schema: Json, depth: number): string {
  const properties = isObject(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  const names = Object.keys(properties);
  if (names.length === 0) {
    return isObject(schema.additionalProperties)
      ? `map of ${renderSchema(schema.additionalProperties, depth + 1)}`
      : '<span class="type">object</span>';
  }
  const rows = names.map((name) => {
    const property = properties[name];
    const description = isObject(property) ? prose(property.description) : '';
    return `<li><code class="prop">${escapeHtml(name)}</code>${required.has(name) ? '' : '<span class="opt">?</span>'}: ${renderSchema(property, depth + 1)}${description ? ` — ${description}` : ''}</li>`;
  });
  return `<span class="type">object</span><ul class="props">${rows.join('')}</ul>`;
}

function renderParameters(parameters: unknown): string {
  if (!Array.isArray(parameters) || parameters.length === 0) return '';
  const rows = parameters.filter(isObject).map((p) => {
    const schema = isObject(p.schema) ? p.schema : {};
    const description = prose(p.description ?? schema.description);
    return `<tr><td><code>${escapeHtml(String(p.name))}</code>${p.required ? ' <span class="req">required</span>' : ''}</td><td>${escapeHtml(String(p.in))}</td><td>${renderSchema(schema)}</td><td>${description}</td></tr>`;
  });
  return `<h4>Parameters</h4><table><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function renderContent(content: unknown): string {
  if (!isObject(content)) return '';
  return Object.entries(content)
    .map(([type, media]) => {
      const schema = isObject(media) ? media.schema : undefined;
      return `<div class="content"><span class="ctype">${escapeHtml(type)}</span> ${renderSchema(schema)}</div>`;
    })
    .join('');
}

function renderRequestBody(body: unknown): string {
  if (!isObject(body)) return '';
  const required = body.required ? ' <span class="req">required</span>' : '';
  return `<h4>Request body${required}</h4>${prose(body.description)}${renderContent(body.content)}`;
}

function renderResponses(responses: unknown): string {
  if (!isObject(responses)) return '';
  const rows = Object.entries(responses).map(([status, response]) => {
    const r = isObject(response) ? response : {};
    return `<tr><td><span class="status s${escapeHtml(status.charAt(0))}">${escapeHtml(status)}</span></td><td>${prose(r.description)}${renderContent(r.content)}</td></tr>`;
  });
  return `<h4>Responses</h4><table class="responses"><tbody>${rows.join('')}</tbody></table>`;
}

interface Operation {
  method: string;
  path: string;
  op: Json;
}

/** Every operation of the document, grouped by its first tag (untagged ones under "other"). */
export function operationsByTag(doc: OpenApiDocumentLike): Map<string, Operation[]> {
  const groups = new Map<string, Operation[]>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const tag = Array.isArray(op.tags) && typeof op.tags[0] === 'string' ? op.tags[0] : 'other';
      const list = groups.get(tag) ?? [];
      list.push({ method, path, op });
      groups.set(tag, list);
    }
  }
  for (const list of groups.values()) {
    list.sort(
      (a, b) =>
        a.path.localeCompare(b.path) ||
        METHODS.indexOf(a.method as never) - METHODS.indexOf(b.method as never),
    );
  }
  return new Map([...groups.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

function renderOperation({ method, path, op }: Operation): string {
  const secured = Array.isArray(op.security) && op.security.length > 0;
  const id = anchorOf('op', `${method}-${path}`);
  return `<section class="op" id="${id}">
<h3><span class="method m-${method}">${method.toUpperCase()}</span> <code class="path">${escapeHtml(path)}</code>${secured ? ' <span class="auth" title="Authorization: Bearer &lt;token&gt;">bearer token</span>' : ' <span class="public">public</span>'}</h3>
${op.summary ? `<p class="summary">${prose(op.summary)}</p>` : ''}
${op.description ? `<p>${prose(op.description)}</p>` : ''}
${renderParameters(op.parameters)}
${renderRequestBody(op.requestBody)}
${renderResponses(op.responses)}
</section>`;
}

const STYLE = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;background:#fafbfc}
header{background:#1d2430;color:#fff;padding:1.2em 2em}header h1{margin:0 0 .2em}header a{color:#9cd}
main{display:flex;gap:2em;padding:1em 2em}nav{min-width:14em;position:sticky;top:1em;align-self:flex-start;font-size:14px}
nav ul{list-style:none;padding-left:.5em;margin:.2em 0 .8em}nav a{color:#245;text-decoration:none}
.content-col{flex:1;min-width:0}h2{border-bottom:2px solid #dde3ea;padding-bottom:.2em;margin-top:1.6em;text-transform:capitalize}
.op{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:.6em 1.2em;margin:1em 0}
.op h3{margin:.3em 0;font-size:17px}.method{display:inline-block;min-width:4.2em;text-align:center;border-radius:4px;color:#fff;font-size:13px;padding:.1em .4em;font-family:monospace}
.m-get{background:#2b7bb9}.m-post{background:#2e9958}.m-delete{background:#c0392b}.m-put,.m-patch{background:#b9770e}
.path{font-size:16px}.auth,.public,.req{font-size:11px;border-radius:3px;padding:.05em .4em;vertical-align:middle}
.auth{background:#eef;color:#335}.public{background:#efe;color:#363}.req{background:#fdd;color:#922}
.summary{font-weight:600}table{border-collapse:collapse;width:100%;margin:.3em 0 .8em;font-size:14px}
th,td{border:1px solid #e3e7ec;padding:.3em .5em;text-align:left;vertical-align:top}th{background:#f3f5f7}
code{background:#f1f3f5;border-radius:3px;padding:0 .25em;font-size:13px}.type{color:#6a3d9a;font-family:monospace}
a.type{text-decoration:none}.note{color:#667;font-size:12px}.opt{color:#999}.props{margin:.2em 0;padding-left:1.2em}
.status{font-family:monospace;font-weight:700}.s2{color:#2e9958}.s3{color:#2b7bb9}.s4{color:#b9770e}.s5{color:#c0392b}
.ctype{font-family:monospace;color:#555;font-size:12px}header code{background:#34405a;color:#fff}.schema{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:.4em 1em;margin:.8em 0}
`;

/** The whole page. */
export function renderApiReferencePage(doc: OpenApiDocumentLike): string {
  const title = doc.info?.title ?? 'API';
  const groups = operationsByTag(doc);
  const schemas = Object.entries(doc.components?.schemas ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const nav = [...groups.entries()]
    .map(
      ([tag, ops]) =>
        `<li><a href="#${anchorOf('tag', tag)}"><b>${escapeHtml(tag)}</b></a><ul>${ops
          .map(
            (o) =>
              `<li><a href="#${anchorOf('op', `${o.method}-${o.path}`)}">${o.method.toUpperCase()} ${escapeHtml(o.path)}</a></li>`,
          )
          .join('')}</ul></li>`,
    )
    .join('');
  const sections = [...groups.entries()]
    .map(
      ([tag, ops]) =>
        `<h2 id="${anchorOf('tag', tag)}">${escapeHtml(tag)}</h2>${ops.map(renderOperation).join('\n')}`,
    )
    .join('\n');
  const schemaSection = schemas
    .map(
      ([name, schema]) =>
        `<div class="schema" id="${anchorOf('schema', name)}"><h3>${escapeHtml(name)}</h3>${isObject(schema) ? prose(schema.description) : ''}${renderSchema(schema, 0)}</div>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} reference</title><style>${STYLE}</style></head>
<body><header><h1>${escapeHtml(title)}</h1><div>Version ${escapeHtml(doc.info?.version ?? '')} · <a href="/openapi.json">openapi.json</a> (OpenAPI 3.1)</div>
${doc.info?.description ? `<p>${prose(doc.info.description)}</p>` : ''}</header>
<main><nav><ul>${nav}<li><a href="#schemas"><b>schemas</b></a></li></ul></nav>
<div class="content-col">${sections}
<h2 id="schemas">Schemas</h2>${schemaSection}</div></main></body></html>`;
}
