/**
 * JSON Schemas published to MCP clients, derived from the tools' Effect Schemas: `$ref`s inlined (so
 * sibling constraints such as `minimum` are honoured by draft-07 validators), `additionalProperties:false`
 * on every object, and plain-language descriptions of what a parameter accepts.
 */
import * as JSONSchema from "effect/JSONSchema"
import type * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"

/** A JSON Schema object. */
export type Json = { readonly [key: string]: unknown }

const inline = (node: unknown, defs: Json): unknown => {
  if (Array.isArray(node)) return node.map((n) => inline(n, defs))
  if (node === null || typeof node !== "object") return node
  const obj = node as Record<string, unknown>
  let out: Record<string, unknown> = {}
  const ref = obj["$ref"]
  if (typeof ref === "string" && ref.startsWith("#/$defs/")) {
    const target = defs[decodeURIComponent(ref.slice("#/$defs/".length))]
    out = { ...(inline(target, defs) as Record<string, unknown>) }
  }
  for (const [k, v] of Object.entries(obj)) {
    if (k === "$ref" || k === "$defs" || k === "$schema" || k === "$id") continue
    out[k] = inline(v, defs)
  }
  if (out["type"] === "object" && out["properties"] !== undefined && out["additionalProperties"] === undefined) {
    out["additionalProperties"] = false
  }
  return out
}

/** The JSON Schema of `schema` (encoded side), self-contained and strict at every level. */
export const strict = (schema: Schema.Schema<any, any>): Json => {
  const ast = SchemaAST.encodedAST(schema.ast)
  if (SchemaAST.isTypeLiteral(ast) && ast.propertySignatures.length === 0 && ast.indexSignatures.length === 0) {
    return { type: "object", properties: {}, additionalProperties: false }
  }
  const raw = JSONSchema.make(schema) as unknown as Record<string, unknown>
  const defs = (raw["$defs"] ?? {}) as Json
  return inline(raw, defs) as Json
}

/** The error envelope every failed call returns as `structuredContent` (tools.md §1). */
export const errorEnvelope: Json = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "hint", "retryable"],
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        hint: { type: "string" },
        retryable: { type: "boolean" },
        details: { type: "object" }
      },
      additionalProperties: false
    }
  },
  additionalProperties: false
}

/**
 * The published `outputSchema`: the tool's output or the error envelope. MCP SDK clients validate
 * `structuredContent` even on `isError` results, so the envelope must be part of the schema.
 */
export const outputSchema = (schema: Schema.Schema<any, any>): Json => ({
  type: "object",
  anyOf: [strict(schema), errorEnvelope]
})

/** Describes in words what a JSON Schema accepts ("an integer between 100 and 999999999"). */
export const describe = (node: Json | undefined): string => {
  if (node === undefined) return "a value"
  // a refined or defaulted schema is an `allOf` wrapper: its constraints are those of its parts together
  const allOf = node["allOf"]
  if (Array.isArray(allOf)) {
    const { allOf: _parts, ...rest } = node
    return describe(Object.assign({}, ...(allOf as Array<Json>), rest) as Json)
  }
  const anyOf = node["anyOf"]
  if (Array.isArray(anyOf)) return anyOf.map((n) => describe(n as Json)).join(" or ")
  const en = node["enum"]
  if (Array.isArray(en)) return `one of ${en.map((v) => JSON.stringify(v)).join(", ")}`
  if ("const" in node) return JSON.stringify(node["const"])
  const min = node["minimum"] as number | undefined
  const max = node["maximum"] as number | undefined
  const range = min !== undefined && max !== undefined ? ` between ${min} and ${max}` : min !== undefined ? ` >= ${min}` : max !== undefined ? ` <= ${max}` : ""
  switch (node["type"]) {
    case "integer":
      return `an integer${range}`
    case "number":
      return `a number${range}`
    case "boolean":
      return "a boolean (true or false)"
    case "string": {
      if (node["format"] === "date-time") return "an ISO 8601 date-time with offset (e.g. 2026-01-31T12:00:00Z)"
      const minL = node["minLength"] as number | undefined
      const maxL = node["maxLength"] as number | undefined
      const len = minL !== undefined && maxL !== undefined ? ` of ${minL}..${maxL} characters` : minL !== undefined ? ` of at least ${minL} characters` : maxL !== undefined ? ` of at most ${maxL} characters` : ""
      return `a string${len}`
    }
    case "array": {
      const items = describe(node["items"] as Json | undefined)
      const minI = node["minItems"] as number | undefined
      return `${minI !== undefined && minI > 0 ? "a non-empty array" : "an array"} of ${items}`
    }
    case "object":
      return "an object"
    default:
      return "a value"
  }
}
