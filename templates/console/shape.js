// What the API offers: the app asks the schema once (introspection) and selects the fields that exist,
// so one build of the app works with every version of the API, and shows what a newer API adds.
import { query } from "./api.js";

const INTROSPECT = `query ConsoleShape { __schema { queryType { fields { name args { name } } }
  types { kind name fields { name args { name } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }`;

function named(type) {
  let t = type;
  while (t && !t.name) t = t.ofType;
  return t;
}

export class Shape {
  constructor(schema) {
    this.roots = new Map(schema.queryType.fields.map((f) => [f.name, new Set(f.args.map((a) => a.name))]));
    this.types = new Map(schema.types.filter((t) => !t.name.startsWith("__")).map((t) => [t.name, t]));
  }

  /** The schema, asked once per tab and session (`fresh` asks again, after the API changed under it). */
  static async load(url, token, fresh = false) {
    const key = `pipectl.shape:${url}`;
    const saved = fresh ? null : JSON.parse(sessionStorage.getItem(key) ?? "null");
    if (saved) return Object.assign(new Shape(saved), { cached: true });
    const data = await query(url, token, INTROSPECT);
    sessionStorage.setItem(key, JSON.stringify(data.__schema));
    return new Shape(data.__schema);
  }

  /** The query field exists (and takes every named argument). */
  has(root, ...args) {
    const known = this.roots.get(root);
    return Boolean(known) && args.every((a) => known.has(a));
  }

  /** The type of a query field's result. */
  rootType(root) {
    const queryType = [...this.types.values()].find((t) => t.fields?.some((f) => f.name === root) && t.name === "Query");
    return queryType ? named(queryType.fields.find((f) => f.name === root).type).name : null;
  }

  fields(typeName) {
    return new Set((this.types.get(typeName)?.fields ?? []).map((f) => f.name));
  }

  /**
   * A selection of every field of `typeName` that needs no argument, objects two levels deep;
   * `skip` leaves out heavy fields (a run's plan in a list of runs).
   */
  select(typeName, skip = [], depth = 2) {
    const type = this.types.get(typeName);
    if (!type || !type.fields) return "";
    const parts = [];
    for (const field of type.fields) {
      if (skip.includes(field.name) || field.args.length) continue;
      const inner = named(field.type);
      if (inner.kind === "OBJECT") {
        if (depth > 1) {
          const sub = this.select(inner.name, skip, depth - 1);
          if (sub) parts.push(`${field.name} { ${sub} }`);
        }
      } else if (inner.kind !== "INTERFACE" && inner.kind !== "UNION") parts.push(field.name);
    }
    return parts.join(" ");
  }
}
