/**
 * The PVE API client and the task follower against the sandbox over real sockets (it.live): pinning with
 * the sandbox's served, impostor and rotated certificates, a failing task, and Proxmox enforcing the
 * observe tier with a 403.
 */
import { describe, expect, it } from "@effect/vitest"
import { apiPath, PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import { Tasks } from "@homelab-mcp/core/capabilities/Tasks"
import * as Sandbox from "@homelab-mcp/sandbox/Sandbox"
import * as PveApiLive from "@homelab-mcp/transport/PveApi"
import * as TasksLive from "@homelab-mcp/transport/Tasks"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

const Version = Schema.Struct({ version: Schema.String, release: Schema.String })
const Upid = Schema.String.pipe(Schema.startsWith("UPID:"))
const CtStatus = Schema.Struct({ status: Schema.String })

const clientOf = (sb: Sandbox.SandboxHandle, tier: Sandbox.SandboxTier, extra: Partial<PveApiLive.Options> = {}) =>
  PveApiLive.make({
    baseUrl: sb.api.baseUrl,
    tokenId: sb.tokens[tier].id,
    tokenSecret: sb.tokens[tier].secret,
    fingerprint: sb.api.tls.pin,
    timeoutMs: 5000,
    connectTimeoutMs: 2000,
    ...extra
  })

const apiCalls = (sb: Sandbox.SandboxHandle) => sb.control.events().filter((e) => e.kind === "api").length

describe("PveApi against the sandbox", () => {
  it.scopedLive("the sandbox's pin passes in both notations; the node is discovered", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ssh: false })
      const api = yield* clientOf(sb, "observe")
      expect(api.node).toBe(sb.api.node)
      const v = yield* api.get("/version", Version)
      expect(v.release).toMatch(/^\d+\.\d+$/)
      const colon = yield* clientOf(sb, "observe", { fingerprint: sb.api.tls.sha256Colon, node: sb.api.node })
      expect((yield* colon.get("/version", Version)).version).toBe(v.version)
      // the event counter the pin tests rely on does see requests
      expect(apiCalls(sb)).toBeGreaterThanOrEqual(3)
    }))

  it.scopedLive("the impostor certificate fails with TlsPinMismatch and the sandbox saw no request", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({
        seed: 1,
        timeScale: 0.01,
        authFailureDelay: 0,
        ssh: false,
        faults: [{ id: "impostor", target: { kind: "tls" }, when: { _tag: "always" }, effect: { _tag: "certificate" } }]
      })
      const before = apiCalls(sb)
      const error = yield* Effect.flip(clientOf(sb, "operate", { node: sb.api.node }).pipe(Effect.flatMap((api) => api.get("/version", Version))))
      expect(error).toMatchObject({ _tag: "TlsPinMismatch", expected: sb.api.tls.pin, presented: sb.api.impostor.pin })
      expect(apiCalls(sb)).toBe(before)
    }))

  it.scopedLive("after rotateCertificate the old pin fails from the next connection", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ssh: false })
      const oldPin = sb.api.tls.pin
      yield* Effect.scoped(Effect.flatMap(clientOf(sb, "observe", { node: sb.api.node }), (api) => api.get("/version", Version)))
      const rotated = yield* sb.control.rotateCertificate()
      expect(rotated.pin).not.toBe(oldPin)
      const before = apiCalls(sb)
      const error = yield* Effect.flip(
        Effect.scoped(Effect.flatMap(clientOf(sb, "observe", { fingerprint: oldPin, node: sb.api.node }), (api) => api.get("/version", Version)))
      )
      expect(error).toMatchObject({ _tag: "TlsPinMismatch", expected: oldPin, presented: rotated.pin })
      expect(apiCalls(sb)).toBe(before)
    }))

  it.scopedLive("an observe token starting a container gets ApiForbidden naming VM.PowerMgmt", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ssh: false })
      const api = yield* clientOf(sb, "observe")
      const error = yield* Effect.flip(api.post(apiPath("nodes", api.node, "lxc", 102, "status", "start"), Upid))
      expect(error).toMatchObject({ _tag: "ApiForbidden", path: "/vms/102", privileges: ["VM.PowerMgmt"] })
      expect(error.message).toBe("The API token lacks VM.PowerMgmt on /vms/102.")
    }))

  it.scopedLive("an unknown guest is GuestNotFound; a wrong token is ApiAuthFailed", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ssh: false })
      const api = yield* clientOf(sb, "operate")
      const nf = yield* Effect.flip(api.get(apiPath("nodes", api.node, "lxc", 4242, "status", "current"), CtStatus))
      expect(nf).toMatchObject({ _tag: "GuestNotFound", vmid: 4242, node: api.node })
      const bad = yield* clientOf(sb, "operate", { tokenSecret: sb.testTokens.revoked.secret, tokenId: sb.testTokens.revoked.id, node: api.node })
      const auth = yield* Effect.flip(bad.get("/version", Version))
      expect(auth._tag).toBe("ApiAuthFailed")
    }))
})

describe("Tasks against the sandbox", () => {
  const withClient = (sb: Sandbox.SandboxHandle) =>
    TasksLive.layer({ pollIntervalMs: 20, timeoutMs: 20_000 }).pipe(Layer.provideMerge(Layer.scoped(PveApi, clientOf(sb, "operate"))))

  it.scopedLive("a started container's task ends OK and the guest runs", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ssh: false })
      yield* Effect.gen(function* () {
        const api = yield* PveApi
        const tasks = yield* Tasks
        const upid = yield* api.post(apiPath("nodes", api.node, "lxc", 102, "status", "start"), Upid)
        const outcome = yield* tasks.wait(upid)
        expect(outcome).toMatchObject({ upid, exitstatus: "OK", warnings: 0 })
        const status = yield* api.get(apiPath("nodes", api.node, "lxc", 102, "status", "current"), CtStatus)
        expect(status.status).toBe("running")
      }).pipe(Effect.provide(withClient(sb)))
    }))

  it.scopedLive("a taskFail fault gives TaskFailed with the exit status and the log tail", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({
        seed: 1,
        timeScale: 0.01,
        authFailureDelay: 0,
        ssh: false,
        faults: [{ id: "fail-start", target: { kind: "task" }, when: { _tag: "always" }, effect: { _tag: "taskFail", exitstatus: "startup for container '102' failed" } }]
      })
      yield* Effect.gen(function* () {
        const api = yield* PveApi
        const tasks = yield* Tasks
        const upid = yield* api.post(apiPath("nodes", api.node, "lxc", 102, "status", "start"), Upid)
        const error = yield* Effect.flip(tasks.wait(upid))
        expect(error).toMatchObject({ _tag: "TaskFailed", upid, exitstatus: "startup for container '102' failed" })
        if (error._tag === "TaskFailed") {
          expect(error.logTail.length).toBeGreaterThan(0)
          expect(error.logTail.length).toBeLessThanOrEqual(20)
        }
      }).pipe(Effect.provide(withClient(sb)))
    }))
})
