/**
 * Tool contracts as data (tools.md §1–2) and tools as Effects whose requirement type lists exactly the
 * capabilities they use. A toolkit is typed by the capabilities its tier provides, so a tool needing a
 * capability the tier lacks does not compile into that tier's toolkit.
 */
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type { ToolError } from "./Errors.js"
import type { Tier } from "./Tier.js"

/** MCP tool annotations (the R/D/I/O columns of tools.md §2). */
export interface Annotations {
  readonly readOnlyHint: boolean
  readonly destructiveHint: boolean
  readonly idempotentHint: boolean
  readonly openWorldHint: boolean
}

/** A tool's published contract: name, minimum tier, strict input and output Schemas, annotations. */
export interface Contract<I, O> {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly tier: Tier
  readonly input: Schema.Schema<I, any>
  readonly output: Schema.Schema<O, any>
  readonly annotations: Annotations
}

/** A tool: its contract and a handler that needs exactly `R`. */
export interface Tool<I, O, R> {
  readonly contract: Contract<I, O>
  readonly handler: (input: I) => Effect.Effect<O, ToolError, R>
}

/** Any tool whose requirements are within `R`. */
export type AnyTool<R> = Tool<any, any, R>

/** The capabilities a tool needs. */
export type Requirements<T> = T extends Tool<any, any, infer R> ? R : never

/** Declares a tool. */
export const make = <I, O, R>(contract: Contract<I, O>, handler: (input: I) => Effect.Effect<O, ToolError, R>): Tool<I, O, R> => ({
  contract,
  handler
})

/**
 * A toolkit for a tier that provides `Caps`: `toolkit<ObserveCaps>()(a, b)` fails to compile when a tool
 * requires a capability outside `Caps`.
 */
export const toolkit =
  <Caps>() =>
  <const T extends ReadonlyArray<AnyTool<Caps>>>(...tools: T): T =>
    tools

/** Parses the `R D I O` notation of tools.md §2 (`"T F T F"`). */
export const annotations = (rdio: string): Annotations => {
  const [r, d, i, o] = rdio.split(" ").map((x) => x === "T")
  return { readOnlyHint: r === true, destructiveHint: d === true, idempotentHint: i === true, openWorldHint: o === true }
}
