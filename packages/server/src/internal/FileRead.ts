/**
 * The read result of the file read tools (tools.md §1 "Read result"): windows, encodings, binary
 * detection and opt-in redaction, shared by `pct_read_file` and `qm_read_file`.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { BinaryContent, InvalidInput } from "@homelab-mcp/core/Errors"
import { redactText } from "@homelab-mcp/core/redaction/Redact"
import type { LimitsShape } from "../Limits.js"
import * as FilePaths from "./FilePaths.js"
import * as Guests from "./Guests.js"

/** The input of the guest read tools. */
export const Input = Schema.Struct({
  vmid: Guests.Vmid,
  path: FilePaths.PathParam,
  encoding: Schema.optionalWith(Schema.Literal("utf8", "base64"), { default: () => "utf8" as const }).annotations({
    description: "utf8 (text; fails on NUL bytes) or base64 (any bytes)"
  }),
  offset: Schema.optionalWith(Schema.Int.pipe(Schema.greaterThanOrEqualTo(0)), { default: () => 0 }),
  maxBytes: Schema.optional(
    Schema.Int.pipe(Schema.greaterThanOrEqualTo(1)).annotations({ description: "Window size, 1..MCP_READ_MAX_BYTES" })
  ),
  redact: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description: "Mask secrets (utf8 only)"
  })
})

/** The input type. */
export type Input = typeof Input.Type

/** The read result. */
export const Output = Schema.Struct({
  path: Schema.String,
  resolvedPath: Schema.optional(Schema.String),
  vmid: Schema.Int,
  content: Schema.String,
  encoding: Schema.Literal("utf8", "base64"),
  offset: Schema.Int,
  bytes: Schema.Int,
  totalBytes: Schema.NullOr(Schema.Int),
  eof: Schema.Boolean,
  nextOffset: Schema.NullOr(Schema.Int),
  redacted: Schema.Boolean,
  redactionCount: Schema.Int
})

/** The output type. */
export type Output = typeof Output.Type

/** The window a call asks for: whether one was given, and its length capped at the read limit. */
export const windowOf = (input: Input, limits: LimitsShape) =>
  Effect.gen(function* () {
    if (input.maxBytes !== undefined && input.maxBytes > limits.readMaxBytes) {
      return yield* new InvalidInput({
        reason: `maxBytes ${input.maxBytes} is above MCP_READ_MAX_BYTES (${limits.readMaxBytes}).`,
        key: "maxBytes"
      })
    }
    if (input.redact && input.encoding !== "utf8") {
      return yield* new InvalidInput({ reason: "redact applies only to encoding utf8.", key: "redact" })
    }
    const windowed = input.maxBytes !== undefined || input.offset > 0
    return { windowed, length: input.maxBytes ?? limits.readMaxBytes }
  })

/** Renders bytes read at `offset` into the read result. */
export const render = (
  input: Input,
  at: { readonly path: string; readonly resolvedPath: string },
  bytes: Uint8Array,
  totalBytes: number | null,
  eof: boolean,
  extraKeys: ReadonlyArray<string>
): Effect.Effect<Output, BinaryContent> =>
  Effect.gen(function* () {
    let content: string
    let redactionCount = 0
    if (input.encoding === "base64") {
      content = Buffer.from(bytes).toString("base64")
    } else {
      if (bytes.includes(0)) return yield* new BinaryContent({ path: at.resolvedPath })
      // ignoreBOM keeps a leading byte order mark, so writing the text back gives the same bytes
      content = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes)
      if (input.redact) {
        const r = redactText(content, extraKeys)
        content = r.text
        redactionCount = r.count
      }
    }
    return {
      path: at.path,
      ...(at.resolvedPath !== at.path ? { resolvedPath: at.resolvedPath } : {}),
      vmid: input.vmid,
      content,
      encoding: input.encoding,
      offset: input.offset,
      bytes: bytes.length,
      totalBytes,
      eof,
      nextOffset: eof ? null : input.offset + bytes.length,
      redacted: input.redact,
      redactionCount
    }
  })
