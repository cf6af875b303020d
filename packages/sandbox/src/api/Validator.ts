/**
 * PVE JSON-schema semantics (sandbox.md §4.6, §9) for the schema extract: parameter validation with
 * Proxmox's exact error texts, and return-value validation (0/1 booleans, closed objects, required
 * unless `optional: 1`) used by the fidelity tests.
 */

/** A PVE schema node as it appears in the extract. */
export interface PveSchema {
  readonly type?: string
  readonly optional?: 0 | 1
  readonly format?: string | Readonly<Record<string, unknown>>
  readonly pattern?: string
  readonly enum?: ReadonlyArray<string>
  readonly minimum?: number
  readonly maximum?: number
  readonly maxLength?: number
  readonly minLength?: number
  readonly items?: PveSchema
  readonly properties?: Readonly<Record<string, PveSchema>>
  readonly additionalProperties?: 0 | 1 | PveSchema
  readonly default?: unknown
}

/** Raw request parameters: strings, or repeated keys as arrays. */
export type RawParams = Readonly<Record<string, string | ReadonlyArray<string>>>

/** Typed parameters after validation. */
export type TypedParams = Record<string, string | number | ReadonlyArray<string>>

const perlRegex = (p: string): RegExp => new RegExp(p.replace(/\(\?\^[a-z]*:/g, "(?:"))

/** Finds the schema property for a key, honouring `name[n]` families (`dev0` → `dev[n]`). */
export const propertyFor = (props: Readonly<Record<string, PveSchema>>, key: string): PveSchema | undefined => {
  const direct = props[key]
  if (direct) return direct
  const m = /^([a-z_]+?)(\d+)$/i.exec(key)
  if (m) return props[`${m[1]}[n]`]
  return undefined
}

const FORMAT_CHECKS: Record<string, (v: string) => string | undefined> = {
  "pve-vmid": (v) => (/^[1-9][0-9]{2,8}$/.test(v) ? undefined : "invalid format - value does not look like a valid VM ID\n"),
  "pve-node": (v) =>
    /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/.test(v) ? undefined : "invalid format - value does not look like a valid node name\n",
  "pve-configid": (v) => (/^[a-z][a-z0-9_-]+$/i.test(v) ? undefined : `invalid format - invalid configuration ID '${v}'\n`),
  "pve-storage-id": (v) => (/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v) ? undefined : `invalid format - storage ID '${v}' contains illegal characters\n`),
  "pve-storage-content": (v) =>
    ["images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"].includes(v) ? undefined : `invalid format - invalid content type '${v}'\n`,
  "pve-storage-content-list": (v) => {
    for (const c of v.split(/[,;\s]+/).filter((x) => x.length > 0)) {
      if (!["images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import", "none"].includes(c)) return `invalid format - invalid content type '${c}'\n`
    }
    return undefined
  },
  "pve-vmid-list": (v) => {
    for (const id of v.split(/[,;\s]+/).filter((x) => x.length > 0)) {
      if (!/^[1-9][0-9]{2,8}$/.test(id)) return `invalid format - value does not look like a valid VM ID\n`
    }
    return undefined
  },
  "pve-task-status-type-list": (v) => {
    for (const s of v.split(/[,;\s]+/).filter((x) => x.length > 0)) {
      if (!["ok", "error", "warning", "unknown"].includes(s)) return `invalid format - value '${s}' does not have a value in the enumeration 'ok, error, warning, unknown'\n`
    }
    return undefined
  }
}

const checkScalar = (schema: PveSchema, value: string): { ok: true; value: string | number } | { ok: false; error: string } => {
  const type = schema.type ?? "string"
  let typed: string | number = value
  if (type === "integer") {
    if (!/^-?\d+$/.test(value)) return { ok: false, error: `type check ('integer') failed - got '${value}'` }
    typed = Number(value)
  } else if (type === "number") {
    if (!/^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/.test(value)) return { ok: false, error: `type check ('number') failed - got '${value}'` }
    typed = Number(value)
  } else if (type === "boolean") {
    if (value !== "0" && value !== "1") return { ok: false, error: `type check ('boolean') failed - got '${value}'` }
    typed = Number(value)
  }
  if (typeof schema.format === "string") {
    const check = FORMAT_CHECKS[schema.format]
    const err = check?.(value)
    if (err !== undefined) return { ok: false, error: err }
  }
  if (type === "string") {
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return { ok: false, error: `value may only be ${schema.maxLength} characters long` }
    if (schema.minLength !== undefined && value.length < schema.minLength) return { ok: false, error: `value must be at least ${schema.minLength} characters long` }
    if (schema.pattern !== undefined && !perlRegex(`^(?:${schema.pattern})$`).test(value)) return { ok: false, error: "value does not match the regex pattern" }
    if (schema.enum !== undefined && !schema.enum.includes(value)) {
      return { ok: false, error: `value '${value}' does not have a value in the enumeration '${schema.enum.join(", ")}'` }
    }
  }
  if (typeof typed === "number") {
    if (schema.minimum !== undefined && typed < schema.minimum) return { ok: false, error: `value must have a minimum value of ${schema.minimum}` }
    if (schema.maximum !== undefined && typed > schema.maximum) return { ok: false, error: `value must have a maximum value of ${schema.maximum}` }
  }
  return { ok: true, value: typed }
}

/** Validates request parameters against an endpoint's parameter schema; PVE's per-parameter texts. */
export const validateParams = (
  schema: PveSchema,
  raw: RawParams,
  options: { readonly isRoot: boolean }
): { readonly ok: true; readonly params: TypedParams } | { readonly ok: false; readonly errors: Record<string, string> } => {
  const props = schema.properties ?? {}
  const errors: Record<string, string> = {}
  const params: TypedParams = {}
  for (const [key, value] of Object.entries(raw)) {
    const prop = propertyFor(props, key)
    if (!prop) {
      if (schema.additionalProperties !== 1) errors[key] = "property is not defined in schema and the schema does not allow additional properties"
      else params[key] = typeof value === "string" ? value : (value[0] ?? "")
      continue
    }
    if (prop.type === "array") {
      const list = typeof value === "string" ? [value] : value
      const itemSchema = prop.items ?? { type: "string" }
      const out: Array<string> = []
      for (const item of list) {
        const r = checkScalar(itemSchema, item)
        if (!r.ok) {
          errors[key] = r.error
          break
        }
        out.push(String(r.value))
      }
      params[key] = out
      continue
    }
    const scalar = typeof value === "string" ? value : (value[0] ?? "")
    const r = checkScalar(prop, scalar)
    if (!r.ok) errors[key] = r.error
    else params[key] = r.value
  }
  for (const [key, prop] of Object.entries(props)) {
    if (key.includes("[n]")) continue
    if (prop.optional !== 1 && raw[key] === undefined && errors[key] === undefined) errors[key] = "property is missing and it is not optional"
  }
  if (!options.isRoot && raw["skiplock"] !== undefined && errors["skiplock"] === undefined) errors["skiplock"] = "Only root may use this option."
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, params }
}

/** Fields PVE sends that the 9.1.3 schema lacks (reasoned allow-list, sandbox.md §9), per endpoint path. */
export const RETURN_ALLOW_LIST: Readonly<Record<string, ReadonlyArray<string>>> = {
  "/nodes": ["id", "type", "disk", "maxdisk"],
  // PVE 9.1 sends these cpuinfo members; the 9.1.3 schema documents only model/sockets/cores/cpus
  "/nodes/{node}/status": ["cpuinfo.mhz", "cpuinfo.flags", "cpuinfo.hvm", "cpuinfo.user_hz"],
  "/nodes/{node}/lxc": ["type", "pid", "swap"],
  "/nodes/{node}/lxc/{vmid}/status/current": ["type", "pid", "swap"],
  "/nodes/{node}/qemu": ["disk"],
  // real 9.1 nodes send these runtime members; the 9.1.3 schema omits them
  "/nodes/{node}/qemu/{vmid}/status/current": ["disk", "balloon", "ballooninfo", "freemem", "blockstat", "nics", "proxmox-support"],
  // `parent` (the snapshot the live state descends from) is kept by load_current_config but undocumented for LXC
  // with `snapshot=<name>` PVE also returns the snapshot's `snaptime` (undocumented)
  "/nodes/{node}/lxc/{vmid}/config": ["parent", "snaptime"],
  "/nodes/{node}/qemu/{vmid}/config": ["snaptime"],
  // the lxc snapshot list schema lacks `description`, which PVE always sends
  "/nodes/{node}/lxc/{vmid}/snapshot": ["running", "digest", "snapstate", "description"],
  "/nodes/{node}/qemu/{vmid}/snapshot": ["running", "digest", "snapstate"],
  "/nodes/{node}/tasks": ["tokenid"],
  "/nodes/{node}/tasks/{upid}/status": ["tokenid"],
  "/nodes/{node}/qemu/{vmid}/agent/file-read": ["bytes-read"],
  "/nodes/{node}/storage/{storage}/content": ["content", "subtype"]
}

/**
 * Problems of a return value against the schema (empty = valid). Booleans must be 0/1 numbers.
 * `allow` names extra fields PVE sends that the schema lacks; `a.b` reaches into nested objects.
 */
export const validateReturn = (schema: PveSchema | undefined, value: unknown, allow: ReadonlyArray<string> = [], path = "data"): Array<string> => {
  if (!schema) return []
  const problems: Array<string> = []
  const type = schema.type
  if (value === null || value === undefined) {
    if (type === "null" || type === undefined) return []
    return [`${path}: expected ${type}, got ${value === null ? "null" : "undefined"}`]
  }
  switch (type) {
    case "null":
      return [`${path}: expected null`]
    case "string":
      if (typeof value !== "string") return [`${path}: expected string, got ${JSON.stringify(value)}`]
      if (schema.enum !== undefined && !schema.enum.includes(value)) problems.push(`${path}: '${value}' not in enum ${schema.enum.join(",")}`)
      if (schema.pattern !== undefined && !perlRegex(`^(?:${schema.pattern})$`).test(value)) problems.push(`${path}: '${value}' does not match ${schema.pattern}`)
      return problems
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) return [`${path}: expected integer, got ${JSON.stringify(value)}`]
      return problems
    case "number":
      if (typeof value !== "number") return [`${path}: expected number, got ${JSON.stringify(value)}`]
      return problems
    case "boolean":
      if (value !== 0 && value !== 1) return [`${path}: expected boolean 0|1, got ${JSON.stringify(value)}`]
      return problems
    case "array": {
      if (!Array.isArray(value)) return [`${path}: expected array`]
      value.forEach((item, i) => problems.push(...validateReturn(schema.items, item, allow, `${path}[${i}]`)))
      return problems
    }
    case "object": {
      if (typeof value !== "object" || Array.isArray(value)) return [`${path}: expected object`]
      const props = schema.properties
      const rec = value as Record<string, unknown>
      if (props) {
        for (const [k, v] of Object.entries(rec)) {
          const p = propertyFor(props, k)
          const childAllow = allow.filter((a) => a.startsWith(`${k}.`)).map((a) => a.slice(k.length + 1))
          if (p) problems.push(...validateReturn(p, v, childAllow, `${path}.${k}`))
          else if (schema.additionalProperties === undefined || schema.additionalProperties === 0) {
            if (!allow.includes(k)) problems.push(`${path}.${k}: not defined in schema`)
          } else if (typeof schema.additionalProperties === "object") {
            problems.push(...validateReturn(schema.additionalProperties, v, childAllow, `${path}.${k}`))
          }
        }
        for (const [k, p] of Object.entries(props)) {
          if (k.includes("[n]")) continue
          if (p.optional !== 1 && !(k in rec)) problems.push(`${path}.${k}: missing (not optional)`)
        }
      }
      return problems
    }
    default:
      return problems
  }
}
