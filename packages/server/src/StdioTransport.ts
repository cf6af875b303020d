/**
 * The MCP stdio transport of the bin (ADR 0090): newline-delimited JSON-RPC on stdin/stdout, framed in
 * linear time. Each stdin chunk is decoded as it arrives and a message is joined once, so a 10 MiB
 * `pct_write_file` costs one copy of its text instead of the quadratic re-concatenation of the SDK's
 * `ReadBuffer`. A message over the cap is discarded and answered with a JSON-RPC error naming its size
 * and the cap; unparsable input is answered too. Either way the session goes on.
 */
import { StringDecoder } from "node:string_decoder"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { JSONRPCMessageSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"

/** The documented default of `MCP_WRITE_MAX_BYTES` (tiers-setup.md §3). */
const DEFAULT_WRITE_MAX_BYTES = 10 * 1024 * 1024
/** The smallest cap, whatever the write limit. */
export const MIN_MESSAGE_BYTES = 16 * 1024 * 1024

/**
 * The largest message accepted: room for the biggest write the server allows, sent as base64 (4/3) with
 * every character escaped once in JSON (x2), plus 1 MiB of envelope; never below 16 MiB.
 */
export const maxMessageBytes = (env: NodeJS.ProcessEnv): number => {
  const raw = env["MCP_WRITE_MAX_BYTES"]?.trim() ?? ""
  const writeMax = /^\d+$/.test(raw) && Number(raw) > 0 ? Number(raw) : DEFAULT_WRITE_MAX_BYTES
  return Math.max(MIN_MESSAGE_BYTES, Math.ceil((writeMax * 4) / 3) * 2 + 1024 * 1024)
}

/** JSON-RPC error codes used for input the transport cannot hand on. */
export const PARSE_ERROR = -32700
export const INVALID_REQUEST = -32600

/** How much of each end of a message is kept to find the id of a message that is then discarded. */
const HEAD_BYTES = 1024

const ID_VALUE = String.raw`(-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*")`

/**
 * The request id of a discarded message, read from its ends: `"id"` before `"params"` at the start, or
 * as the last key of the top-level object at the end (where the SDK client puts it); else `null`
 * (JSON-RPC's "could not tell").
 */
export const edgeId = (head: string, tail: string): string | number | null => {
  const params = head.indexOf('"params"')
  const m =
    new RegExp(String.raw`"id"\s*:\s*` + ID_VALUE).exec(params === -1 ? head : head.slice(0, params)) ??
    new RegExp(String.raw`"id"\s*:\s*` + ID_VALUE + String.raw`\s*\}\s*$`).exec(tail)
  if (m === null) return null
  try {
    const id: unknown = JSON.parse(m[1]!)
    return typeof id === "string" || typeof id === "number" ? id : null
  } catch {
    return null
  }
}

const idOf = (value: unknown): string | number | null => {
  if (value === null || typeof value !== "object") return null
  const id = (value as { id?: unknown }).id
  return typeof id === "string" || typeof id === "number" ? id : null
}

/** A stdio `Transport` that frames messages in linear time and survives oversized or malformed input. */
export class StdioTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void

  private parts: Array<string> = []
  private bytes = 0
  private discarding = false
  private head = ""
  private tail = ""
  private decoder = new StringDecoder("utf8")
  private started = false

  constructor(
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stdout,
    /** The largest message accepted, in bytes (see `maxMessageBytes`). */
    readonly maxBytes: number = maxMessageBytes(process.env)
  ) {}

  private readonly onData = (chunk: Buffer | string) => {
    this.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk)
  }

  private readonly onInputError = (error: Error) => {
    this.onerror?.(error)
  }

  /** Starts reading stdin. */
  async start(): Promise<void> {
    if (this.started) throw new Error("StdioTransport already started")
    this.started = true
    this.input.on("data", this.onData)
    this.input.on("error", this.onInputError)
  }

  /** Feeds bytes as they arrive; every complete line becomes a message, an error reply, or nothing (blank). */
  private push(chunk: Buffer): void {
    let start = 0
    while (start <= chunk.length) {
      const newline = chunk.indexOf(10, start)
      const end = newline === -1 ? chunk.length : newline
      const length = end - start
      if (this.discarding) {
        this.bytes += length
        this.tail = (this.tail + chunk.toString("utf8", Math.max(start, end - HEAD_BYTES), end)).slice(-HEAD_BYTES)
      } else if (this.bytes + length > this.maxBytes) {
        this.discarding = true
        if (this.head.length < HEAD_BYTES) this.head += chunk.toString("utf8", start, Math.min(end, start + HEAD_BYTES - this.head.length))
        this.tail = chunk.toString("utf8", Math.max(start, end - HEAD_BYTES), end)
        this.parts = []
        this.decoder = new StringDecoder("utf8")
        this.bytes += length
      } else if (length > 0) {
        const part = this.decoder.write(chunk.subarray(start, end))
        this.parts.push(part)
        if (this.head.length < HEAD_BYTES) this.head += part.slice(0, HEAD_BYTES - this.head.length)
        this.bytes += length
      }
      if (newline === -1) return
      this.endLine()
      start = newline + 1
    }
  }

  private endLine(): void {
    const size = this.bytes
    const discarded = this.discarding
    const head = this.head
    const tail = this.tail.replace(/\r$/, "")
    const line = discarded ? "" : (this.parts.join("") + this.decoder.end()).replace(/\r$/, "")
    this.parts = []
    this.bytes = 0
    this.discarding = false
    this.head = ""
    this.tail = ""
    this.decoder = new StringDecoder("utf8")
    if (discarded) {
      const message =
        `A message of ${size} bytes exceeds this server's ${this.maxBytes}-byte limit and was discarded. ` +
        "Send smaller content (a single write is bounded by MCP_WRITE_MAX_BYTES) or split the work into several calls."
      this.onerror?.(new Error(message))
      this.reply(edgeId(head, tail), INVALID_REQUEST, message)
      return
    }
    if (line.trim() === "") return
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch (e) {
      const message = `The message is not valid JSON (${e instanceof Error ? e.message : String(e)}); it was ignored.`
      this.onerror?.(new Error(message))
      this.reply(null, PARSE_ERROR, message)
      return
    }
    const checked = JSONRPCMessageSchema.safeParse(parsed)
    if (!checked.success) {
      const message = `The message is not a JSON-RPC 2.0 request, notification or response (${checked.error.message.slice(0, 300)}); it was ignored.`
      this.onerror?.(new Error(message))
      if (idOf(parsed) !== null) this.reply(idOf(parsed), INVALID_REQUEST, message)
      return
    }
    this.onmessage?.(checked.data)
  }

  private reply(id: string | number | null, code: number, message: string): void {
    this.output.write(`${JSON.stringify({ jsonrpc: "2.0", id, error: { code, message } })}\n`)
  }

  /** Writes one message as a line; resolves once stdout accepted it (waits for `drain` under backpressure). */
  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.output.write(`${JSON.stringify(message)}\n`)) resolve()
      else this.output.once("drain", () => resolve())
    })
  }

  /** Stops reading (pausing stdin when nobody else listens) and reports the close. */
  async close(): Promise<void> {
    this.input.off("data", this.onData)
    this.input.off("error", this.onInputError)
    if (this.input.listenerCount("data") === 0) this.input.pause()
    this.parts = []
    this.bytes = 0
    this.onclose?.()
  }
}
