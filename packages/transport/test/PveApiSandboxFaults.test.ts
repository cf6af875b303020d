/**
 * The retry rules of transport-trust.md §2.3 against the sandbox's injected transport faults, over real
 * sockets: a connection dropped before TLS is retried even for POST; a connection dropped after the
 * request arrived is never retried for POST; raw 502s are retried for GET; a hung handshake times out
 * and is retried.
 */
import { describe, expect, it } from "@effect/vitest"
import { apiPath } from "@homelab-mcp/core/capabilities/PveApi"
import * as Sandbox from "@homelab-mcp/sandbox/Sandbox"
import type { FaultRule } from "@homelab-mcp/sandbox/faults/Faults"
import * as PveApiLive from "@homelab-mcp/transport/PveApi"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

const Version = Schema.Struct({ version: Schema.String })
const Upid = Schema.String.pipe(Schema.startsWith("UPID:"))

const sandboxWith = (fault: FaultRule) => Sandbox.make({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ssh: false, faults: [fault] })

const operate = (sb: Sandbox.SandboxHandle, extra: Partial<PveApiLive.Options> = {}) =>
  PveApiLive.make({
    baseUrl: sb.api.baseUrl,
    tokenId: sb.tokens.operate.id,
    tokenSecret: sb.tokens.operate.secret,
    fingerprint: sb.api.tls.pin,
    node: sb.api.node,
    timeoutMs: 3000,
    connectTimeoutMs: 1000,
    ...extra
  })

const stats = (sb: Sandbox.SandboxHandle, id: string) => sb.control.metrics().faults.find((f) => f.id === id)

describe("PveApi retries against sandbox faults", () => {
  it.scopedLive("a connection dropped before TLS is retried for POST and the start happens once", () =>
    Effect.gen(function* () {
      const sb = yield* sandboxWith({ id: "drop", target: { kind: "tls" }, when: { _tag: "once" }, effect: { _tag: "drop", phase: "connect" } })
      const api = yield* operate(sb)
      const upid = yield* api.post(apiPath("nodes", api.node, "lxc", 102, "status", "start"), Upid)
      expect(upid).toContain("vzstart")
      expect(stats(sb, "drop")).toMatchObject({ fired: 1 })
      const starts = sb.control.events().filter((e) => e.kind === "task" && e.decision === "started")
      expect(starts).toHaveLength(1)
    }))

  it.scopedLive("a connection dropped after the request arrived is not retried for POST", () =>
    Effect.gen(function* () {
      const sb = yield* sandboxWith({
        id: "drop-headers",
        target: { kind: "api", method: "POST", path: "/nodes/{node}/lxc/{vmid}/status/start" },
        when: { _tag: "always" },
        effect: { _tag: "drop", phase: "headers" }
      })
      const api = yield* operate(sb, { retries: 2 })
      const error = yield* Effect.flip(api.post(apiPath("nodes", api.node, "lxc", 102, "status", "start"), Upid))
      expect(error._tag).toBe("ApiUnreachable")
      expect(stats(sb, "drop-headers")).toMatchObject({ matched: 1, fired: 1 })
    }))

  it.scopedLive("the same drop on a GET is retried up to PVE_API_RETRIES times", () =>
    Effect.gen(function* () {
      const sb = yield* sandboxWith({
        id: "drop-get",
        target: { kind: "api", method: "GET", path: "/version" },
        when: { _tag: "always" },
        effect: { _tag: "drop", phase: "headers" }
      })
      const api = yield* operate(sb, { retries: 2 })
      const error = yield* Effect.flip(api.get("/version", Version))
      expect(error._tag).toBe("ApiUnreachable")
      expect(stats(sb, "drop-get")).toMatchObject({ matched: 3, fired: 3 })
    }))

  it.scopedLive("a raw 502 is retried for GET and the call succeeds", () =>
    Effect.gen(function* () {
      const sb = yield* sandboxWith({
        id: "bad-gateway",
        target: { kind: "api", method: "GET", path: "/version" },
        when: { _tag: "once" },
        effect: { _tag: "status", code: 502, raw: true }
      })
      const api = yield* operate(sb)
      const v = yield* api.get("/version", Version)
      expect(v.version).toMatch(/^\d/)
      expect(stats(sb, "bad-gateway")).toMatchObject({ matched: 2, fired: 1 })
    }))

  it.scopedLive("a hung handshake hits PVE_API_CONNECT_TIMEOUT_MS and is retried (nothing was sent)", () =>
    Effect.gen(function* () {
      const sb = yield* sandboxWith({ id: "hang", target: { kind: "tls" }, when: { _tag: "once" }, effect: { _tag: "hang" } })
      const api = yield* operate(sb, { connectTimeoutMs: 300 })
      const started = Date.now()
      const upid = yield* api.post(apiPath("nodes", api.node, "lxc", 102, "status", "start"), Upid)
      expect(upid).toContain("UPID:")
      expect(Date.now() - started).toBeGreaterThanOrEqual(300)
      expect(stats(sb, "hang")).toMatchObject({ fired: 1 })
    }))
})
