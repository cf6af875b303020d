/**
 * The retry policy on the TestClock, through the socket-free `httpClient` option (the path the
 * sandbox's direct router uses): attempt times follow 250 ms then 500 ms, each ±50 %.
 */
import { describe, expect, it } from "@effect/vitest"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as PveApi from "@homelab-mcp/transport/PveApi"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"

const scripted = (status: number, statusText: string, body: string | null) => {
  const times: Array<number> = []
  const client = HttpClient.make((request) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        times.push(now)
        return HttpClientResponse.fromWeb(request, new Response(body, { status, statusText }))
      })
    )
  )
  return { client, times }
}

const options = (client: HttpClient.HttpClient, retries = 2): PveApi.Options => ({
  baseUrl: "https://pve.invalid:8006/api2/json",
  tokenId: "mcp@pve!mcp-observe",
  tokenSecret: Redacted.make("s"),
  node: "pve",
  httpClient: client,
  retries,
  timeoutMs: 60_000
})

describe("PveApi retry schedule (TestClock)", () => {
  it.scoped("a GET answered 503 is retried after 250 ms ±50 % and then 500 ms ±50 %, then fails", () =>
    Effect.gen(function* () {
      const s = scripted(503, "Service Unavailable", null)
      const api = yield* PveApi.make(options(s.client))
      const fiber = yield* Effect.fork(api.get("/version", Schema.Unknown))
      yield* TestClock.adjust("124 millis")
      expect(s.times).toHaveLength(1)
      yield* TestClock.adjust("251 millis")
      expect(s.times).toHaveLength(2)
      yield* TestClock.adjust("750 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "ApiServerError", status: 503, reason: "Service Unavailable" })
      expect(s.times).toHaveLength(3)
      const [a, b, c] = s.times as [number, number, number]
      expect(b - a).toBeGreaterThanOrEqual(125)
      expect(b - a).toBeLessThanOrEqual(375)
      expect(c - b).toBeGreaterThanOrEqual(250)
      expect(c - b).toBeLessThanOrEqual(750)
    }))

  it.scoped("PVE_API_RETRIES=0 disables retries; POSTs are never retried on a status", () =>
    Effect.gen(function* () {
      const s = scripted(502, "Bad Gateway", null)
      const none = yield* PveApi.make(options(s.client, 0))
      expect((yield* Effect.flip(none.get("/x", Schema.Unknown)))._tag).toBe("ApiServerError")
      expect(s.times).toHaveLength(1)
      const api = yield* PveApi.make(options(s.client, 5))
      expect((yield* Effect.flip(api.post("/x", Schema.Unknown)))._tag).toBe("ApiServerError")
      expect(s.times).toHaveLength(2)
    }))

  it.scoped("the direct client decodes {data} and keeps Proxmox's reason phrase", () =>
    Effect.gen(function* () {
      const okClient = scripted(200, "OK", JSON.stringify({ data: { version: "9.1.1" } }))
      const api = yield* PveApi.make(options(okClient.client))
      expect(yield* api.get("/version", Schema.Struct({ version: Schema.String }))).toEqual({ version: "9.1.1" })
      const forbidden = scripted(403, "Permission check failed (/vms/100, VM.PowerMgmt)", JSON.stringify({ data: null }))
      const denied = yield* PveApi.make(options(forbidden.client))
      expect(yield* Effect.flip(denied.post("/nodes/pve/lxc/100/status/start", Schema.String))).toMatchObject({
        _tag: "ApiForbidden",
        path: "/vms/100",
        privileges: ["VM.PowerMgmt"]
      })
    }))
})
