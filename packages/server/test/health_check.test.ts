import { describe, expect, it } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { HealthReport } from "@homelab-mcp/core/health/Health"
import { Input } from "../src/tools/health_check.js"
import * as F from "../../core/test/census/fixtures.js"
import { session } from "./support/censusSession.js"
import { ApiServerError } from "@homelab-mcp/core/Errors"

const reportOf = (r: CallToolResult) => {
  expect(r.isError ?? false).toBe(false)
  return r.structuredContent as unknown as HealthReport
}

describe("health_check input", () => {
  it("sections: [] is rejected (G3); defaults apply", () => {
    const decode = Schema.decodeUnknownEither(Input, { onExcessProperty: "error" })
    const empty = decode({ sections: [] })
    expect(Either.isLeft(empty) && empty.left.message).toContain("sections must name at least one of node, storage, guests, units, updates")
    expect(decode({})).toEqual(Either.right({ includePseudoFs: false }))
    expect(Either.isLeft(decode({ sections: ["node"], pseudo: true }))).toBe(true)
  })
})

describe("health_check over MCP", () => {
  it.scoped("sections: [] is InvalidInput over MCP and nothing is requested (G3)", () =>
    Effect.gen(function* () {
      const fake = F.makeFake()
      const s = yield* session(fake)
      const r = yield* s.call("health_check", { sections: [] })
      expect(r.isError).toBe(true)
      expect((r.structuredContent as { error: { code: string } }).error.code).toBe("InvalidInput")
      expect(fake.events).toEqual([])
    })
  )

  it.scoped("at observe: API checks, updates and failed-units listed as unavailable, never /apt/update (E2)", () =>
    Effect.gen(function* () {
      const fake = F.makeFake()
      const s = yield* session(fake, "operate")
      const r = reportOf(yield* s.call("health_check"))
      expect(r).toMatchObject({ schemaVersion: 1, tier: "operate", status: "warn", complete: true, errors: [] })
      expect(r.unavailable.map((u) => [u.section, u.check, u.unavailableAtTier])).toEqual([
        ["storage", "fs", "companion"],
        ["units", "failed-units", "companion"],
        ["updates", "updates", "companion"]
      ])
      expect(r.findings.find((f) => f.check === "onboot-guests")).toMatchObject({ status: "warn", detail: ["CT 102 (lab-alpine) is stopped"] })
      expect(fake.events.filter((e) => e.includes("/apt/"))).toEqual([])
    })
  )

  it.scoped("a 403 becomes a redacted section error naming the privilege; the call still succeeds", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/status", () => F.forbidden("/nodes/pve", "Sys.Audit"))
      routes.set("GET /nodes/pve/storage", () =>
        Effect.fail(new ApiServerError({ status: 500, path: "/nodes/pve/storage", reason: "login with PVEAPIToken=mcp@pve!x=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee failed" }))
      )
      const s = yield* session(F.makeFake(routes))
      const r = reportOf(yield* s.call("health_check", { sections: ["node", "storage"] }))
      expect(r.complete).toBe(false)
      expect(r.status).toBe("ok")
      expect(r.errors).toEqual([
        { section: "node", probe: "node-status", error: expect.stringContaining("lacks Sys.Audit on /nodes/pve") },
        { section: "storage", probe: "storage", error: expect.not.stringContaining("aaaaaaaa-bbbb") }
      ])
      expect(r.errors[1]!.error).toContain("[REDACTED]")
    })
  )
})

