import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { AuditLog } from "@homelab-mcp/core/capabilities/AuditLog"
import { Confirm, flagOnly } from "@homelab-mcp/core/capabilities/Confirm"
import { Progress, silent } from "@homelab-mcp/core/capabilities/Progress"
import * as AuditLogJsonl from "@homelab-mcp/transport/AuditLogJsonl"
import { Toolkits, guest_stop, pct_list } from "../src/index.js"
import * as Fake from "./support/FakeNode.js"

describe("embedding the toolkit in another Effect program (no MCP, no stdio)", () => {
  it.effect("runs the operate handlers directly with the tier's capabilities provided", () =>
    Effect.gen(function* () {
      const node = Fake.makeNode()
      const audit = yield* AuditLogJsonl.makeMemory()
      const caps = Layer.mergeAll(
        Fake.pveLayer(node),
        Fake.tasksLayer,
        Layer.succeed(AuditLog, audit.service),
        Layer.succeed(Confirm, flagOnly),
        Layer.succeed(Progress, silent)
      )
      const list = yield* pct_list.handler({}).pipe(Effect.provide(caps))
      expect(list.containers.map((c) => c.vmid)).toEqual([100, 102])
      const input = Schema.decodeUnknownSync(guest_stop.contract.input)({ vmid: 100, confirm: true })
      const stopped = yield* guest_stop.handler(input).pipe(Effect.provide(caps))
      expect(stopped).toMatchObject({ vmid: 100, status: "stopped", mode: "hard" })
      const refused = yield* Effect.either(guest_stop.handler({ vmid: 200, confirm: false, graceful: false }).pipe(Effect.provide(caps)))
      expect(Either.isLeft(refused) && refused.left._tag).toBe("ConfirmationRequired")
      expect(Toolkits.operateTools.map((t) => t.contract.name)).toContain("guest_restart")
    }))
})
