/**
 * `PveApi.getEach` / `postEach` (ADR 0094) against the sandbox over HTTPS (it.scopedLive): outcomes in the
 * order of the paths with the typed errors `get`/`post` give, the permits bound (shared with other
 * holders, urgent batches first), the retry policy of `get`/`post` (transient GET failures and requests
 * never sent are retried; a 502 on POST, a timed-out POST and a pin mismatch are not), interruption
 * returning every permit, the empty batch, and the socket-free client's fallback.
 */
import { describe, expect, it } from "@effect/vitest"
import { apiPath, type Outcome, PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import type { ApiError } from "@homelab-mcp/core/Errors"
import * as Permits from "@homelab-mcp/core/Permits"
import type { FaultRule } from "@homelab-mcp/sandbox/faults/Faults"
import * as Sandbox from "@homelab-mcp/sandbox/Sandbox"
import * as PveApiLive from "@homelab-mcp/transport/PveApi"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"

const Upid = Schema.String.pipe(Schema.startsWith("UPID:"))
const Named = Schema.Struct({ hostname: Schema.String })

type Api = PveApi.Service

const start = (faults: ReadonlyArray<FaultRule> = []) => Sandbox.make({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ssh: false, faults })

const clientOf = (sb: Sandbox.SandboxHandle, tier: Sandbox.SandboxTier = "operate", extra: Partial<PveApiLive.Options> = {}) =>
  PveApiLive.make({
    baseUrl: sb.api.baseUrl,
    tokenId: sb.tokens[tier].id,
    tokenSecret: sb.tokens[tier].secret,
    fingerprint: sb.api.tls.pin,
    node: sb.api.node,
    timeoutMs: 3000,
    connectTimeoutMs: 1000,
    ...extra
  })

const rule = (id: string, target: FaultRule["target"], effect: FaultRule["effect"], when: FaultRule["when"] = { _tag: "always" }): FaultRule => ({ id, target, when, effect })
const latency = (ms: number) => ({ _tag: "latency", latency: { fixed: ms } }) as const

const stats = (sb: Sandbox.SandboxHandle, id: string) => sb.control.metrics().faults.find((f) => f.id === id)
const apiEvents = (sb: Sandbox.SandboxHandle) => sb.control.events().filter((e) => e.kind === "api")

const lxcConfig = (api: Api, vmid: number) => apiPath("nodes", api.node, "lxc", vmid, "config")
const qemuConfig = (api: Api, vmid: number) => apiPath("nodes", api.node, "qemu", vmid, "config")
const lxcStart = (api: Api, vmid: number) => apiPath("nodes", api.node, "lxc", vmid, "status", "start")

/**
 * Permits whose plain grants and releases are counted (the batch's first attempts go through these), and
 * whose fiber holders (retries, the socket-free fallback) are recorded once they hold their permit.
 */
const counted = (permits: Permits.Permits) => {
  const seen = { acquires: [] as Array<boolean>, holding: 0, peak: 0, grants: 0, releases: 0, fiberHolds: [] as Array<"ordinary" | "urgent"> }
  const wrapped: Permits.Permits = {
    withPermit: (self) => permits.withPermit(Effect.zipRight(Effect.sync(() => void seen.fiberHolds.push("ordinary")), self)),
    withUrgentPermit: (self) => permits.withUrgentPermit(Effect.zipRight(Effect.sync(() => void seen.fiberHolds.push("urgent")), self)),
    acquire: (granted, urgent) => {
      seen.acquires.push(urgent === true)
      return permits.acquire(() => {
        seen.grants++
        seen.holding++
        seen.peak = Math.max(seen.peak, seen.holding)
        granted()
      }, urgent)
    },
    release: () => {
      seen.releases++
      seen.holding--
      permits.release()
    }
  }
  return { permits: wrapped, raw: permits, seen }
}

/** True when exactly `n` permits are free: `n` plain acquires are granted at once and one more is not. */
const freeExactly = (permits: Permits.Permits, n: number): boolean => {
  let granted = 0
  for (let i = 0; i < n; i++) permits.acquire(() => void granted++)
  const allAtOnce = granted === n
  let extraGranted = false
  const withdraw = permits.acquire(() => void (extraGranted = true))
  const extraWaited = !extraGranted && withdraw()
  for (let i = 0; i < granted; i++) permits.release()
  if (extraGranted) permits.release()
  return allAtOnce && extraWaited
}

/** Waits (polling) until `cond` holds; fails the test after 10 s. */
const until = (cond: () => boolean, what: string) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 10_000
    while (!cond()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${what}`)
      yield* Effect.sleep("2 millis")
    }
  })

const tagAndMessage = (e: ApiError) => ({ _tag: e._tag, message: e.message })
const leftOf = <A>(o: Outcome<A> | undefined): ApiError => {
  if (o === undefined || Either.isRight(o)) throw new Error(`expected a Left, got ${JSON.stringify(o)}`)
  return o.left
}

describe("PveApi.getEach over HTTPS", () => {
  it.scopedLive("outcomes come back decoded in the order of the paths, equal to get's, even when the first answers last", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("slow-first", { kind: "api", method: "GET", path: "/nodes/{node}/lxc/100/config" }, latency(150))])
      const api = yield* clientOf(sb)
      const permits = yield* Permits.make(8)
      const paths = [lxcConfig(api, 100), qemuConfig(api, 200), lxcConfig(api, 101), apiPath("nodes", api.node, "lxc"), qemuConfig(api, 201), lxcConfig(api, 102)]
      const before = apiEvents(sb).length
      const outcomes = yield* api.getEach(paths, Schema.Unknown, { permits })
      expect(outcomes).toHaveLength(paths.length)
      expect(outcomes.every(Either.isRight)).toBe(true)
      const values = outcomes.map((o) => Either.getOrThrow(o) as Record<string, unknown>)
      expect(values[0]).toMatchObject({ hostname: "dns", cores: 1, memory: 512 })
      expect(values[1]).toMatchObject({ name: "debian-vm", cores: 2 })
      expect(values[2]).toMatchObject({ hostname: "docker", cores: 4 })
      const list = values[3] as unknown as ReadonlyArray<{ vmid: number; name: string }>
      expect(list.map((g) => g.vmid).sort((a, b) => a - b)).toEqual([100, 101, 102, 9001])
      expect(values[4]).toMatchObject({ name: "legacy-dir" })
      expect(values[5]).toMatchObject({ hostname: "lab-alpine" })
      // one request per path
      const sent = apiEvents(sb).slice(before)
      expect(sent.map((e) => e.path).sort()).toEqual(paths.map((p) => `/api2/json${p}`).sort())
      // the configs are what get decodes for the same paths
      for (const i of [0, 1, 2, 4, 5]) {
        expect(values[i]).toEqual(yield* api.get(paths[i]!, Schema.Unknown))
      }
      expect(freeExactly(permits, 8)).toBe(true)
    }))

  it.scopedLive("each path is decoded with the schema: a mismatch is that path's Left, as get gives it", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      const api = yield* clientOf(sb)
      const permits = yield* Permits.make(4)
      const paths = [lxcConfig(api, 100), qemuConfig(api, 200), lxcConfig(api, 101)]
      const outcomes = yield* api.getEach(paths, Named, { permits })
      expect(outcomes[0]).toEqual(Either.right({ hostname: "dns" }))
      expect(outcomes[2]).toEqual(Either.right({ hostname: "docker" }))
      const mismatch = leftOf(outcomes[1])
      expect(mismatch).toMatchObject({ _tag: "ApiServerError", status: 200, path: paths[1], reason: expect.stringContaining("unexpected response") })
      const viaGet = yield* Effect.flip(api.get(paths[1]!, Named))
      expect(mismatch).toEqual(viaGet)
    }))

  it.scopedLive("an unknown vmid and a 403 are Lefts with get's typed errors; the other paths are Rights", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      const api = yield* clientOf(sb, "observe")
      const permits = yield* Permits.make(3)
      const unknownCt = lxcConfig(api, 4242)
      const unknownVm = qemuConfig(api, 4343)
      const forbidden = apiPath("nodes", api.node, "syslog")
      const paths = [lxcConfig(api, 100), unknownCt, forbidden, qemuConfig(api, 200), unknownVm]
      const outcomes = yield* api.getEach(paths, Schema.Unknown, { permits })
      expect(outcomes.map((o) => o._tag)).toEqual(["Right", "Left", "Left", "Right", "Left"])
      expect(leftOf(outcomes[1])).toMatchObject({ _tag: "GuestNotFound", vmid: 4242, node: api.node })
      expect(leftOf(outcomes[2])).toMatchObject({ _tag: "ApiForbidden", privileges: ["Sys.Syslog"] })
      expect(leftOf(outcomes[4])).toMatchObject({ _tag: "GuestNotFound", vmid: 4343 })
      for (const i of [1, 2, 4]) {
        const viaGet = yield* Effect.flip(api.get(paths[i]!, Schema.Unknown))
        expect(tagAndMessage(leftOf(outcomes[i]))).toEqual(tagAndMessage(viaGet))
        expect(leftOf(outcomes[i])).toEqual(viaGet)
      }
      expect(Either.getOrThrow(outcomes[0]!)).toMatchObject({ hostname: "dns" })
      // a 403 and a 500 are answers, never retried: one request each
      const events = apiEvents(sb).filter((e) => e.path === `/api2/json${forbidden}`)
      expect(events.map((e) => e.status)).toEqual([403, 403])
      expect(freeExactly(permits, 3)).toBe(true)
    }))

  it.live("an empty batch is [] without a request or a permit", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const sb = yield* start()
        const api = yield* clientOf(sb)
        const { permits, seen } = counted(yield* Permits.make(1))
        const before = sb.control.metrics().api.requests
        expect(yield* api.getEach([], Schema.Unknown, { permits })).toEqual([])
        expect(yield* api.postEach([], Upid, { permits, urgent: true })).toEqual([])
        expect(seen.acquires).toEqual([])
        expect(sb.control.metrics().api.requests).toBe(before)
        expect(freeExactly(permits, 1)).toBe(true)
      })
    ))
})

describe("PveApi.getEach: the permits bound", () => {
  it.scopedLive("6 requests of 100 ms under 2 permits take at least 3 rounds, never more than 2 in flight", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("lat", { kind: "api", method: "GET", path: "/nodes/{node}/*/*/config" }, latency(100))])
      const api = yield* clientOf(sb)
      const { permits, seen } = counted(yield* Permits.make(2))
      const paths = [lxcConfig(api, 100), lxcConfig(api, 101), lxcConfig(api, 102), qemuConfig(api, 200), qemuConfig(api, 201), lxcConfig(api, 9001)]
      const started = Date.now()
      const outcomes = yield* api.getEach(paths, Schema.Unknown, { permits })
      const elapsed = Date.now() - started
      expect(outcomes.every(Either.isRight)).toBe(true)
      expect(elapsed).toBeGreaterThanOrEqual(290)
      expect(seen.grants).toBe(6)
      expect(seen.releases).toBe(6)
      expect(seen.peak).toBe(2)
      expect(seen.holding).toBe(0)
      expect(stats(sb, "lat")).toMatchObject({ matched: 6, fired: 6 })
      expect(freeExactly(permits, 2)).toBe(true)
    }))

  it.scopedLive("the bound is shared: with one of 2 permits held elsewhere, 4 requests of 100 ms run one at a time", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("lat", { kind: "api", method: "GET", path: "/nodes/{node}/*/*/config" }, latency(100))])
      const api = yield* clientOf(sb)
      const { permits, seen } = counted(yield* Permits.make(2))
      let held = false
      permits.acquire(() => void (held = true))
      expect(held).toBe(true)
      const started = Date.now()
      const outcomes = yield* api.getEach([lxcConfig(api, 100), lxcConfig(api, 101), qemuConfig(api, 200), qemuConfig(api, 201)], Named.pipe(Schema.partial), { permits })
      expect(Date.now() - started).toBeGreaterThanOrEqual(390)
      expect(outcomes.every(Either.isRight)).toBe(true)
      // the test's own permit plus one for the batch
      expect(seen.peak).toBe(2)
      permits.release()
      expect(freeExactly(permits, 2)).toBe(true)
    }))

  it.scopedLive("an urgent batch is served before an ordinary batch already waiting for the permit", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      const api = yield* clientOf(sb)
      const { permits, raw, seen } = counted(yield* Permits.make(1))
      let held = false
      raw.acquire(() => void (held = true))
      expect(held).toBe(true)
      const order: Array<string> = []
      const unsubscribe = sb.lab.subscribe((e) => {
        if (e.kind === "api" && e.path !== undefined) order.push(e.path.replace(/^\/api2\/json\/nodes\/[^/]+\//, ""))
      })
      yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))
      const ordinary = yield* Effect.fork(api.getEach([lxcConfig(api, 100), lxcConfig(api, 101), qemuConfig(api, 200)], Schema.Unknown, { permits }))
      yield* until(() => seen.acquires.length === 3, "the ordinary batch to wait")
      const urgent = yield* Effect.fork(api.postEach([apiPath("nodes", api.node, "qemu", 200, "agent", "ping")], Schema.Unknown, { permits, urgent: true }))
      const urgentGets = yield* Effect.fork(api.getEach([lxcConfig(api, 102), qemuConfig(api, 201)], Schema.Unknown, { permits, urgent: true }))
      yield* until(() => seen.acquires.length === 6, "the urgent batches to wait")
      expect(seen.acquires).toEqual([false, false, false, true, true, true])
      // nothing was sent while the only permit was held
      expect(order).toEqual([])
      raw.release()
      const [o, u, g] = yield* Effect.all([Fiber.join(ordinary), Fiber.join(urgent), Fiber.join(urgentGets)])
      expect([...o, ...u, ...g].every(Either.isRight)).toBe(true)
      expect(order).toEqual(["qemu/200/agent/ping", "lxc/102/config", "qemu/201/config", "lxc/100/config", "lxc/101/config", "qemu/200/config"])
      expect(seen.peak).toBe(1)
      expect(freeExactly(permits, 1)).toBe(true)
    }))
})

describe("PveApi.getEach/postEach: the retry policy", () => {
  it.scopedLive("a 503 on a GET's first attempt is retried and ends Right; the others are untouched", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("busy", { kind: "api", method: "GET", path: "/nodes/{node}/lxc/101/config" }, { _tag: "status", code: 503, raw: true }, { _tag: "once" })])
      const api = yield* clientOf(sb)
      const { permits, seen } = counted(yield* Permits.make(2))
      const outcomes = yield* api.getEach([lxcConfig(api, 100), lxcConfig(api, 101), lxcConfig(api, 102)], Named, { permits })
      expect(outcomes).toEqual([Either.right({ hostname: "dns" }), Either.right({ hostname: "docker" }), Either.right({ hostname: "lab-alpine" })])
      expect(stats(sb, "busy")).toMatchObject({ matched: 2, fired: 1 })
      // three first attempts from callbacks, one retry holding a permit of the same bound
      expect(seen.grants).toBe(3)
      expect(seen.fiberHolds).toEqual(["ordinary"])
      expect(apiEvents(sb).filter((e) => e.path?.endsWith("/lxc/101/config")).map((e) => e.status)).toEqual([503, 200])
      expect(freeExactly(permits, 2)).toBe(true)
    }))

  it.scopedLive("a GET answering 502 every time is retried PVE_API_RETRIES times and ends with get's error; retries 0 sends it once", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("gateway", { kind: "api", method: "GET", path: "/nodes/{node}/lxc/101/config" }, { _tag: "status", code: 502, raw: true })])
      const api = yield* clientOf(sb, "operate", { retries: 2 })
      const permits = yield* Permits.make(2)
      const path = lxcConfig(api, 101)
      const outcomes = yield* api.getEach([lxcConfig(api, 100), path], Named, { permits })
      expect(Either.isRight(outcomes[0]!)).toBe(true)
      const error = leftOf(outcomes[1])
      expect(error).toMatchObject({ _tag: "ApiServerError", status: 502 })
      expect(stats(sb, "gateway")).toMatchObject({ matched: 3 })
      expect(error).toEqual(yield* Effect.flip(api.get(path, Named)))
      expect(stats(sb, "gateway")).toMatchObject({ matched: 6 })
      const once = yield* clientOf(sb, "operate", { retries: 0 })
      expect(leftOf((yield* once.getEach([path], Named, { permits }))[0])).toMatchObject({ _tag: "ApiServerError", status: 502 })
      expect(stats(sb, "gateway")).toMatchObject({ matched: 7 })
      expect(freeExactly(permits, 2)).toBe(true)
    }))

  it.scopedLive("a GET whose first attempt times out is retried and ends Right", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("stuck", { kind: "api", method: "GET", path: "/nodes/{node}/qemu/200/config" }, { _tag: "hang" }, { _tag: "once" })])
      const api = yield* clientOf(sb, "operate", { timeoutMs: 300 })
      const { permits, seen } = counted(yield* Permits.make(2))
      const started = Date.now()
      const outcomes = yield* api.getEach([lxcConfig(api, 100), qemuConfig(api, 200)], Schema.Unknown, { permits, urgent: true })
      expect(Date.now() - started).toBeGreaterThanOrEqual(290)
      expect(outcomes.map((o) => o._tag)).toEqual(["Right", "Right"])
      expect(seen.acquires).toEqual([true, true])
      // the retry of an urgent batch holds an urgent permit
      expect(seen.fiberHolds).toEqual(["urgent"])
      expect(Either.getOrThrow(outcomes[1]!)).toMatchObject({ name: "debian-vm" })
      expect(stats(sb, "stuck")).toMatchObject({ matched: 2, fired: 1 })
      expect(freeExactly(permits, 2)).toBe(true)
    }))

  it.scopedLive("a 502 on postEach is not retried (the request was sent) and matches post's error", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("gateway", { kind: "api", method: "POST", path: "/nodes/{node}/lxc/102/status/start" }, { _tag: "status", code: 502, raw: true })])
      const api = yield* clientOf(sb, "operate", { retries: 2 })
      const permits = yield* Permits.make(2)
      const outcomes = yield* api.postEach([lxcStart(api, 102), lxcStart(api, 9001)], Upid, { permits })
      const error = leftOf(outcomes[0])
      expect(error).toMatchObject({ _tag: "ApiServerError", status: 502 })
      expect(Either.getOrThrow(outcomes[1]!)).toContain(":vzstart:9001:")
      expect(stats(sb, "gateway")).toMatchObject({ matched: 1, fired: 1 })
      const viaPost = yield* Effect.flip(api.post(lxcStart(api, 102), Upid))
      expect(tagAndMessage(error)).toEqual(tagAndMessage(viaPost))
      expect(stats(sb, "gateway")).toMatchObject({ matched: 2, fired: 2 })
      expect(freeExactly(permits, 2)).toBe(true)
    }))

  it.scopedLive("a timed-out POST is not retried", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("stuck", { kind: "api", method: "POST", path: "/nodes/{node}/lxc/102/status/start" }, { _tag: "hang" })])
      const api = yield* clientOf(sb, "operate", { timeoutMs: 300, retries: 2 })
      const permits = yield* Permits.make(1)
      const outcomes = yield* api.postEach([lxcStart(api, 102)], Upid, { permits })
      expect(leftOf(outcomes[0])).toMatchObject({ _tag: "ApiTimeout", timeoutMs: 300 })
      expect(stats(sb, "stuck")).toMatchObject({ matched: 1 })
      expect(freeExactly(permits, 1)).toBe(true)
    }))

  it.scopedLive("a POST whose connection dropped before TLS (nothing sent) is retried and the start happens once", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("drop", { kind: "tls" }, { _tag: "drop", phase: "connect" }, { _tag: "once" })])
      const api = yield* clientOf(sb)
      const permits = yield* Permits.make(1)
      const outcomes = yield* api.postEach([lxcStart(api, 102)], Upid, { permits, urgent: true })
      expect(Either.getOrThrow(outcomes[0]!)).toContain(":vzstart:102:")
      expect(stats(sb, "drop")).toMatchObject({ fired: 1 })
      expect(sb.control.events().filter((e) => e.kind === "task" && e.decision === "started")).toHaveLength(1)
      expect(freeExactly(permits, 1)).toBe(true)
    }))

  it.scopedLive("a pin mismatch is TlsPinMismatch for every path, with nothing sent and no retry", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("impostor", { kind: "tls" }, { _tag: "certificate" })])
      const api = yield* clientOf(sb, "operate", { retries: 2 })
      const permits = yield* Permits.make(3)
      const paths = [lxcConfig(api, 100), lxcConfig(api, 101), qemuConfig(api, 200)]
      const before = apiEvents(sb).length
      const outcomes = yield* api.getEach(paths, Schema.Unknown, { permits })
      expect(outcomes).toHaveLength(3)
      for (const o of outcomes) {
        expect(leftOf(o)).toMatchObject({ _tag: "TlsPinMismatch", expected: sb.api.tls.pin, presented: sb.api.impostor.pin })
      }
      // at most one handshake per path: a retry would have shaken hands again
      const handshakes = stats(sb, "impostor")?.fired ?? 0
      expect(handshakes).toBeGreaterThanOrEqual(1)
      expect(handshakes).toBeLessThanOrEqual(paths.length)
      expect(apiEvents(sb).length).toBe(before)
      const viaGet = yield* Effect.flip(api.get(paths[0]!, Schema.Unknown))
      expect(tagAndMessage(leftOf(outcomes[0]))).toEqual(tagAndMessage(viaGet))
      const posts = yield* api.postEach([lxcStart(api, 102)], Upid, { permits })
      expect(leftOf(posts[0])._tag).toBe("TlsPinMismatch")
      expect(sb.control.events().filter((e) => e.kind === "task")).toHaveLength(0)
      expect(freeExactly(permits, 3)).toBe(true)
    }))
})

describe("PveApi.getEach: interruption", () => {
  it.scopedLive("interrupting a batch with hung requests in flight and others waiting returns every permit, and sends nothing more", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("stuck", { kind: "api", method: "GET", path: "/nodes/{node}/*/*/config" }, { _tag: "hang" })])
      const api = yield* clientOf(sb, "operate", { timeoutMs: 20_000 })
      const { permits, raw, seen } = counted(yield* Permits.make(2))
      const paths = [lxcConfig(api, 100), lxcConfig(api, 101), lxcConfig(api, 102), qemuConfig(api, 200), qemuConfig(api, 201)]
      const fiber = yield* Effect.fork(api.getEach(paths, Schema.Unknown, { permits }))
      yield* until(() => (stats(sb, "stuck")?.matched ?? 0) === 2, "two requests to reach the sandbox")
      expect(seen.acquires).toHaveLength(5)
      expect(seen.holding).toBe(2)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(seen.holding).toBe(0)
      expect(freeExactly(raw, 2)).toBe(true)
      // the withdrawn requests never go out, the permits returned do not wake them
      yield* Effect.sleep("200 millis")
      expect(stats(sb, "stuck")).toMatchObject({ matched: 2 })
      expect(seen.grants).toBe(2)
      // the client still works
      sb.control.removeFault("stuck")
      expect(yield* api.getEach([lxcConfig(api, 100)], Named, { permits })).toEqual([Either.right({ hostname: "dns" })])
      expect(freeExactly(permits, 2)).toBe(true)
    }))

  it.scopedLive("interrupting a batch waiting out a latency returns every permit without waiting for the answers", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("slow", { kind: "api", method: "GET", path: "/nodes/{node}/*/*/config" }, latency(3000))])
      const api = yield* clientOf(sb, "operate", { timeoutMs: 20_000 })
      const { permits, seen } = counted(yield* Permits.make(3))
      const fiber = yield* Effect.fork(api.getEach([lxcConfig(api, 100), lxcConfig(api, 101), qemuConfig(api, 200), qemuConfig(api, 201)], Schema.Unknown, { permits, urgent: true }))
      yield* until(() => sb.control.metrics().api.injectedRequests === 3, "three requests to reach the sandbox")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(seen.holding).toBe(0)
      expect(freeExactly(permits, 3)).toBe(true)
      expect(sb.control.metrics().api.injectedRequests).toBe(3)
    }))

  it.scopedLive("interrupting a batch during a retry's backoff returns the permit", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("busy", { kind: "api", method: "GET", path: "/nodes/{node}/lxc/100/config" }, { _tag: "status", code: 503, raw: true })])
      const api = yield* clientOf(sb, "operate", { retries: 5, timeoutMs: 20_000 })
      const permits = yield* Permits.make(1)
      const fiber = yield* Effect.fork(api.getEach([lxcConfig(api, 100)], Schema.Unknown, { permits }))
      yield* until(() => (stats(sb, "busy")?.matched ?? 0) >= 1, "the first attempt")
      yield* Effect.sleep("30 millis")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(freeExactly(permits, 1)).toBe(true)
    }))

  it.scopedLive("a deadline (timeout) around a batch interrupts it and the permits come back", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("stuck", { kind: "api", method: "GET", path: "/nodes/{node}/qemu/*/config" }, { _tag: "hang" })])
      const api = yield* clientOf(sb, "operate", { timeoutMs: 20_000 })
      const permits = yield* Permits.make(2)
      const result = yield* api.getEach([lxcConfig(api, 100), qemuConfig(api, 200), qemuConfig(api, 201), lxcConfig(api, 101)], Schema.Unknown, { permits }).pipe(
        Effect.timeout(Duration.millis(300)),
        Effect.either
      )
      expect(Either.isLeft(result) && result.left._tag).toBe("TimeoutException")
      expect(freeExactly(permits, 2)).toBe(true)
    }))
})

describe("PveApi.getEach with the socket-free client (eachVia)", () => {
  it.scopedLive("same order, values and typed errors as get, within the same permits", () =>
    Effect.gen(function* () {
      const sb = yield* start()
      const api = yield* clientOf(sb, "observe", { httpClient: sb.directHttpClient })
      const { permits, seen } = counted(yield* Permits.make(2))
      const paths = [qemuConfig(api, 200), lxcConfig(api, 4242), apiPath("nodes", api.node, "syslog"), lxcConfig(api, 100)]
      const outcomes = yield* api.getEach(paths, Schema.Unknown, { permits, urgent: true })
      // a fiber per request, each holding an urgent permit of the bound given
      expect(seen.fiberHolds).toEqual(["urgent", "urgent", "urgent", "urgent"])
      expect(seen.acquires).toEqual([])
      expect(outcomes.map((o) => o._tag)).toEqual(["Right", "Left", "Left", "Right"])
      expect(Either.getOrThrow(outcomes[0]!)).toMatchObject({ name: "debian-vm" })
      expect(Either.getOrThrow(outcomes[3]!)).toMatchObject({ hostname: "dns" })
      expect(leftOf(outcomes[1])).toEqual(yield* Effect.flip(api.get(paths[1]!, Schema.Unknown)))
      expect(leftOf(outcomes[2])).toMatchObject({ _tag: "ApiForbidden", privileges: ["Sys.Syslog"] })
      const posts = yield* api.postEach([lxcStart(api, 102)], Upid, { permits })
      expect(leftOf(posts[0])).toMatchObject({ _tag: "ApiForbidden", privileges: ["VM.PowerMgmt"] })
      expect(seen.fiberHolds.slice(4)).toEqual(["ordinary"])
      expect(freeExactly(permits, 2)).toBe(true)
    }))
})
