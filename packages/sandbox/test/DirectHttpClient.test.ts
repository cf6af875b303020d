/** The socket-free HttpClient into the core works under the TestClock (it.effect / it.scoped). */
import { describe, expect, it } from "@effect/vitest"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Sandbox from "../src/Sandbox.js"

describe("Sandbox.directHttpClient", () => {
  it.scoped("answers GETs and form POSTs from the core with PVE's status lines", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, authFailureDelay: 0, clock: "manual", ssh: false })
      const auth = `PVEAPIToken=${sb.tokens.operate.id}=${Redacted.value(sb.tokens.operate.secret)}`
      const client = sb.directHttpClient
      const version = yield* client.execute(HttpClientRequest.get(`${sb.api.baseUrl}/version`).pipe(HttpClientRequest.setHeader("Authorization", auth)))
      expect(version.status).toBe(200)
      expect(yield* version.json).toEqual({ data: { version: "9.1.1", release: "9.1", repoid: "f4d3f125ffae50e9" } })
      const start = yield* client.execute(
        HttpClientRequest.post(`${sb.api.baseUrl}/nodes/pve/lxc/9001/status/start`).pipe(HttpClientRequest.setHeader("Authorization", auth), HttpClientRequest.bodyUrlParams({}))
      )
      const upid = ((yield* start.json) as { data: string }).data
      expect(upid).toMatch(/:vzstart:9001:mcp@pve!mcp-operate:$/)
      sb.control.advance(2)
      const st = yield* client.execute(HttpClientRequest.get(`${sb.api.baseUrl}/nodes/pve/tasks/${encodeURIComponent(upid)}/status`).pipe(HttpClientRequest.setHeader("Authorization", auth)))
      expect(((yield* st.json) as { data: { exitstatus: string } }).data.exitstatus).toBe("OK")
      const shutdown = yield* client.execute(
        HttpClientRequest.post(`${sb.api.baseUrl}/nodes/pve/lxc/102/status/shutdown`).pipe(HttpClientRequest.setHeader("Authorization", auth), HttpClientRequest.bodyUrlParams({ forceStop: "1" }))
      )
      expect(shutdown.status).toBe(500)
      expect(yield* shutdown.json).toEqual({ data: null, message: "CT 102 not running\n" })
      const denied = yield* HttpClient.get(`${sb.api.baseUrl}/version`).pipe(Effect.provideService(HttpClient.HttpClient, client))
      expect(denied.status).toBe(401)
    })
  )
})
