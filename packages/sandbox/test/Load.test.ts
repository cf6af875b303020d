/** Budgets of sandbox.md §8: /cluster/resources on 500 guests fast, 200 concurrent HTTPS requests without error. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Sandbox from "../src/Sandbox.js"
import { request } from "./support/https.js"

describe("load budgets", () => {
  it.live("/cluster/resources on 500 guests answers in well under 20 ms p50 (core)", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ guests: 500, seed: 11, authFailureDelay: 0, ssh: false })
      const headers = { authorization: `PVEAPIToken=${sb.token.id}=${Redacted.value(sb.token.secret)}` }
      const times: Array<number> = []
      for (let i = 0; i < 21; i++) {
        const t0 = performance.now()
        const r = yield* sb.handle({ method: "GET", url: "/api2/json/cluster/resources", headers })
        times.push(performance.now() - t0)
        expect(r.status).toBe(200)
      }
      times.sort((a, b) => a - b)
      expect(times[10]!).toBeLessThan(20)
    }).pipe(Effect.scoped)
  )

  it.live("200 concurrent HTTPS requests all succeed", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, authFailureDelay: 0, ssh: false })
      const token = { id: sb.token.id, secret: Redacted.value(sb.token.secret) }
      const paths = ["/version", "/nodes", "/nodes/pve/lxc", "/nodes/pve/qemu", "/cluster/resources", "/nodes/pve/storage", "/nodes/pve/status", "/nodes/pve/lxc/100/snapshot"]
      const results = yield* Effect.forEach(
        Array.from({ length: 200 }, (_, i) => paths[i % paths.length]!),
        (p) => Effect.promise(() => request(sb.api.baseUrl, "GET", p, { token, timeoutMs: 20000 })),
        { concurrency: "unbounded" }
      )
      expect(results.filter((r) => r.status !== 200)).toEqual([])
      expect(sb.control.metrics().api.requests).toBe(200)
    }).pipe(Effect.scoped),
    30_000
  )
})
