import { PassThrough } from "node:stream"
import { describe, expect, it } from "vitest"
import * as fc from "fast-check"
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"
import { INVALID_REQUEST, MIN_MESSAGE_BYTES, PARSE_ERROR, StdioTransport, edgeId, maxMessageBytes } from "../src/StdioTransport.js"

const harness = async (maxBytes?: number) => {
  const input = new PassThrough()
  const output = new PassThrough()
  const transport = new StdioTransport(input, output, maxBytes)
  const messages: Array<JSONRPCMessage> = []
  const errors: Array<string> = []
  let written = ""
  output.on("data", (c: Buffer) => (written += c.toString("utf8")))
  transport.onmessage = (m) => messages.push(m)
  transport.onerror = (e) => errors.push(e.message)
  await transport.start()
  const feed = async (...chunks: Array<Buffer | string>) => {
    for (const c of chunks) input.write(c)
    await new Promise((r) => setImmediate(r))
  }
  const replies = () =>
    written
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { id: unknown; error?: { code: number; message: string } })
  return { transport, input, output, messages, errors, feed, replies }
}

const call = (id: number, text: string): JSONRPCMessage => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "pct_write_file", arguments: { content: text } }
})

describe("StdioTransport framing", () => {
  it("delivers messages split anywhere, several per chunk, CRLF endings and multi-byte characters cut mid-sequence", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: "binary", maxLength: 200 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.boolean(),
        async (texts, cuts, crlf) => {
          const h = await harness()
          const sent = texts.map((t, i) => call(i, t))
          const bytes = Buffer.from(sent.map((m) => JSON.stringify(m) + (crlf ? "\r\n" : "\n")).join(""), "utf8")
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
          const chunks: Array<Buffer> = []
          let from = 0
          for (const p of [...points, bytes.length]) {
            chunks.push(bytes.subarray(from, p))
            from = p
          }
          await h.feed(...chunks)
          expect(h.messages).toEqual(sent)
          expect(h.errors).toEqual([])
        }
      ),
      { numRuns: 150 }
    )
  })

  it("accepts a message above the SDK's 10 MiB read buffer (a write at the default MCP_WRITE_MAX_BYTES)", async () => {
    const h = await harness()
    const text = "say \"hi\"\n".repeat(Math.ceil((10.5 * 1024 * 1024) / 9))
    const line = JSON.stringify(call(7, text)) + "\n"
    expect(Buffer.byteLength(line)).toBeGreaterThan(10 * 1024 * 1024)
    const bytes = Buffer.from(line)
    const chunks: Array<Buffer> = []
    for (let i = 0; i < bytes.length; i += 65536) chunks.push(bytes.subarray(i, i + 65536))
    await h.feed(...chunks)
    expect(h.messages).toHaveLength(1)
    expect((h.messages[0] as unknown as { params: { arguments: { content: string } } }).params.arguments.content).toBe(text)
  })

  it("discards a message over the cap, answers it with an error naming the size and the cap, and goes on", async () => {
    const h = await harness(1000)
    await h.feed(JSON.stringify(call(1, "x".repeat(600))).slice(0, 500), "y".repeat(1200), "\n", JSON.stringify(call(2, "small")) + "\n")
    await h.feed('{"method":"tools/call","params":{"content":"' + "z".repeat(2000), '"},"jsonrpc":"2.0","id":"late-id"}\n')
    expect(h.messages).toEqual([call(2, "small")])
    const [reply, second] = h.replies()
    expect(reply).toMatchObject({ id: 1, error: { code: INVALID_REQUEST } })
    expect(second).toMatchObject({ id: "late-id", error: { code: INVALID_REQUEST } })
    expect(reply!.error!.message).toContain("1700 bytes exceeds this server's 1000-byte limit")
    expect(reply!.error!.message).toContain("MCP_WRITE_MAX_BYTES")
    expect(h.errors).toHaveLength(2)
  })

  it("finds the id of a discarded request at its start before params, or as the last top-level key; else null", () => {
    expect(edgeId('{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"id":99', "")).toBe(17)
    expect(edgeId('{"jsonrpc":"2.0","id":"a\\"b","method":"x"', "")).toBe('a"b')
    expect(edgeId('{"method":"tools/call","params":{"arguments":{"id":3', 'xx"}},"jsonrpc":"2.0","id":42}')).toBe(42)
    expect(edgeId('{"method":"tools/call","params":{"arguments":{"id":3', 'xx","id":5}}}')).toBeNull()
    expect(edgeId("garbage", "more garbage")).toBeNull()
  })

  it("answers unparsable JSON with a parse error and a non-JSON-RPC object with its id; blank lines are ignored", async () => {
    const h = await harness()
    await h.feed("{not json\n", "\n", "   \r\n", JSON.stringify({ id: 5, hello: "world" }) + "\n", JSON.stringify(call(3, "ok")) + "\n")
    expect(h.messages).toEqual([call(3, "ok")])
    const replies = h.replies()
    expect(replies.map((r) => [r.id, r.error?.code])).toEqual([
      [null, PARSE_ERROR],
      [5, INVALID_REQUEST]
    ])
    expect(h.errors).toHaveLength(2)
  })

  it("send writes one line per message and waits for drain under backpressure", async () => {
    const input = new PassThrough()
    const output = new PassThrough({ highWaterMark: 16 })
    const transport = new StdioTransport(input, output)
    await transport.start()
    let resolved = false
    const sending = transport.send(call(1, "x".repeat(100))).then(() => (resolved = true))
    await new Promise((r) => setImmediate(r))
    expect(resolved).toBe(false)
    const line = (output.read() as Buffer).toString("utf8")
    await sending
    expect(JSON.parse(line)).toEqual(call(1, "x".repeat(100)))
    expect(line.endsWith("\n")).toBe(true)
  })

  it("close stops reading and reports onclose", async () => {
    const h = await harness()
    let closed = false
    h.transport.onclose = () => (closed = true)
    await h.transport.close()
    await h.feed(JSON.stringify(call(1, "late")) + "\n")
    expect(closed).toBe(true)
    expect(h.messages).toEqual([])
  })

  it("sizes the cap from MCP_WRITE_MAX_BYTES (base64 and JSON escaping), never below 16 MiB", () => {
    expect(maxMessageBytes({})).toBe(Math.ceil((10 * 1024 * 1024 * 4) / 3) * 2 + 1024 * 1024)
    expect(maxMessageBytes({ MCP_WRITE_MAX_BYTES: "1024" })).toBe(MIN_MESSAGE_BYTES)
    expect(maxMessageBytes({ MCP_WRITE_MAX_BYTES: "104857600" })).toBe(Math.ceil((104857600 * 4) / 3) * 2 + 1024 * 1024)
    expect(maxMessageBytes({ MCP_WRITE_MAX_BYTES: "junk" })).toBe(maxMessageBytes({}))
  })
})
