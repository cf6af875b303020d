/**
 * The undici-backed `HttpClient` on a loopback HTTP server: whole responses with every accessor, request
 * bodies, the deadline of `executeWithin` and interruption both abort the request on the wire, the body
 * cap, and transport failures as `RequestError`s.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Undici from "@effect/platform-node/Undici"
import * as UndiciHttpClient from "@homelab-mcp/transport/UndiciHttpClient"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

interface Seen {
  readonly method: string
  readonly url: string
  readonly contentType: string | undefined
  readonly body: string
}

let server: http.Server
let base: string
const seen: Array<Seen> = []
/** Requests whose connection closed before we answered (aborted by the client). */
const closedEarly: Array<string> = []
const agent = new Undici.Agent()

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, contentType: req.headers["content-type"], body: Buffer.concat(chunks).toString() })
      if (req.url === "/hang") {
        res.on("close", () => closedEarly.push(req.url!))
        return
      }
      if (req.url === "/big") {
        res.writeHead(200, { "content-type": "application/octet-stream" })
        res.end(Buffer.alloc(64 * 1024, 120))
        return
      }
      res.writeHead(201, "Made It", { "content-type": "application/json", "set-cookie": "session=abc; Path=/", "x-extra": "1" })
      res.end(JSON.stringify({ data: { echo: req.url, text: "größe" } }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await agent.destroy()
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const waitFor = (predicate: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200 && !predicate(); i++) yield* Effect.sleep("10 millis")
    return predicate()
  })

describe("UndiciHttpClient", () => {
  it.live("answers with the whole response: status, reason phrase, headers, cookies, text, json, bytes, stream", () =>
    Effect.gen(function* () {
      const client = UndiciHttpClient.make(agent)
      const response = yield* client.execute(HttpClientRequest.get(`${base}/x?a=1`))
      expect(response.status).toBe(201)
      expect((response as unknown as { statusText: string }).statusText).toBe("Made It")
      expect(response.headers["x-extra"]).toBe("1")
      expect(response.cookies.cookies["session"]?.value).toBe("abc")
      const expected = { data: { echo: "/x?a=1", text: "größe" } }
      expect(JSON.parse(yield* response.text)).toEqual(expected)
      expect(yield* response.json).toEqual(expected)
      expect(Buffer.from(yield* response.arrayBuffer).toString()).toBe(JSON.stringify(expected))
      const streamed = Chunk.toReadonlyArray(yield* Stream.runCollect(response.stream))
      expect(Buffer.concat(streamed.map((c) => Buffer.from(c))).toString()).toBe(JSON.stringify(expected))
    }))

  it.live("sends a form body with its content type, and URL parameters of the request", () =>
    Effect.gen(function* () {
      const client = UndiciHttpClient.make(agent)
      const request = HttpClientRequest.post(`${base}/form`).pipe(
        HttpClientRequest.setUrlParam("q", "a b"),
        HttpClientRequest.bodyText("vmid=100&force=1", "application/x-www-form-urlencoded")
      )
      const response = yield* client.executeWithin(request, 5_000)
      expect(response.status).toBe(201)
      expect(seen.at(-1)).toEqual({ method: "POST", url: "/form?q=a+b", contentType: "application/x-www-form-urlencoded", body: "vmid=100&force=1" })
    }))

  it.live("a passed deadline fails with RequestTimeout and aborts the request on the wire", () =>
    Effect.gen(function* () {
      const client = UndiciHttpClient.make(agent)
      const before = closedEarly.length
      const started = Date.now()
      const error = yield* Effect.flip(client.executeWithin(HttpClientRequest.get(`${base}/hang`), 150))
      expect(Date.now() - started).toBeGreaterThanOrEqual(140)
      expect(error._tag).toBe("RequestError")
      expect(error.cause).toBeInstanceOf(UndiciHttpClient.RequestTimeout)
      expect(String(error.cause)).toContain("no complete answer within 150 ms")
      expect(yield* waitFor(() => closedEarly.length > before)).toBe(true)
    }))

  it.live("interrupting a request aborts it on the wire", () =>
    Effect.gen(function* () {
      const client = UndiciHttpClient.make(agent)
      const before = closedEarly.length
      const requests = seen.length
      const fiber = yield* Effect.fork(client.execute(HttpClientRequest.get(`${base}/hang`)))
      expect(yield* waitFor(() => seen.length > requests)).toBe(true)
      yield* Fiber.interrupt(fiber)
      expect(yield* waitFor(() => closedEarly.length > before)).toBe(true)
    }))

  it.live("a body over maxBodyBytes fails with BodyTooLarge instead of being buffered", () =>
    Effect.gen(function* () {
      const client = UndiciHttpClient.make(agent, { maxBodyBytes: 1024 })
      const error = yield* Effect.flip(client.execute(HttpClientRequest.get(`${base}/big`)))
      expect(error._tag).toBe("ResponseError")
      expect(error.cause).toBeInstanceOf(UndiciHttpClient.BodyTooLarge)
      const roomy = yield* UndiciHttpClient.make(agent).execute(HttpClientRequest.get(`${base}/big`))
      expect((yield* roomy.arrayBuffer).byteLength).toBe(64 * 1024)
    }))

  it.live("a refused connection and an unsupported body are RequestErrors naming the problem", () =>
    Effect.gen(function* () {
      const client = UndiciHttpClient.make(agent)
      const closed = http.createServer()
      yield* Effect.promise(() => new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve)))
      const port = (closed.address() as AddressInfo).port
      yield* Effect.promise(() => new Promise((resolve) => closed.close(resolve)))
      const refused = yield* Effect.flip(client.execute(HttpClientRequest.get(`http://127.0.0.1:${port}/`)))
      expect(refused._tag).toBe("RequestError")
      expect(String((refused.cause as { code?: unknown }).code)).toBe("ECONNREFUSED")
      const streamed = HttpClientRequest.post(`${base}/s`).pipe(HttpClientRequest.setBody(HttpBody.stream(Stream.make(new Uint8Array([1])))))
      const unsupported = yield* Effect.flip(client.execute(streamed))
      expect(unsupported).toMatchObject({ _tag: "RequestError", reason: "Encode" })
      expect(String(unsupported.cause)).toContain("Stream body is not supported")
    }))
})
