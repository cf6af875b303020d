/**
 * Injected API latency over HTTPS (ADR 0094): a GET with only latency faults is answered from the lab's
 * state at its arrival and the answer is sent once the latency is over; a GET with any other fault, and
 * every non-GET, still runs after the latency (a POST's effect is not in the lab before then).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { FaultRule } from "../src/faults/Faults.js"
import * as Sandbox from "../src/Sandbox.js"
import { call } from "./support/api.js"
import { type RawResponse, request } from "./support/https.js"

const start = (faults: ReadonlyArray<FaultRule> = []) => Sandbox.make({ seed: 1, timeScale: 0.001, authFailureDelay: 0, ssh: false, faults })
const tok = (t: Sandbox.SandboxToken) => ({ id: t.id, secret: Redacted.value(t.secret) })
const rule = (id: string, target: FaultRule["target"], effect: FaultRule["effect"], when: FaultRule["when"] = { _tag: "always" }): FaultRule => ({ id, target, when, effect })
const latency = (ms: number) => ({ _tag: "latency", latency: { fixed: ms } }) as const

/** A request in flight: its promise, and when it settled (real ms) once it did. */
const send = (sb: Sandbox.SandboxHandle, method: string, path: string, extra: { timeoutMs?: number } = {}) => {
  const state: { sentAt: number; settledAt?: number; promise: Promise<RawResponse> } = { sentAt: Date.now(), promise: Promise.resolve(undefined as never) }
  state.promise = request(sb.api.baseUrl, method, path, {
    token: tok(sb.tokens.operate),
    ...(extra.timeoutMs !== undefined ? { timeoutMs: extra.timeoutMs } : {})
  })
  state.promise.then(
    () => void (state.settledAt = Date.now()),
    () => void (state.settledAt = Date.now())
  )
  return state
}

/** Waits (polling) until `cond` holds; fails the test after 10 s. */
const until = (cond: () => boolean, what: string) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 10_000
    while (!cond()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${what}`)
      yield* Effect.sleep("1 millis")
    }
  })

/**
 * True while a request's injected latency cannot be over: the server's timer started after the request was
 * sent, so before `sentAt + latency` nothing delayed by it has run (checked synchronously with what follows).
 */
const beforeLatency = (r: { readonly sentAt: number }, latencyMs: number) => Date.now() < r.sentAt + latencyMs - 5

/** A latency long enough that "not yet" checks right after arrival practically always run before it ends. */
const LATE_MS = 500

/** The number of requests that reached the HTTPS server with an injected latency (counted at arrival). */
const arrivedUnderLatency = (sb: Sandbox.SandboxHandle) => sb.control.metrics().api.injectedRequests

const CT_CONFIG = "/nodes/pve/lxc/102/config"
const CT_START = "/nodes/pve/lxc/102/status/start"

describe("a GET under injected latency", () => {
  it.scopedLive("its answer arrives no earlier than the latency", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("slow", { kind: "api", method: "GET", path: "/nodes/{node}/lxc/{vmid}/config" }, latency(150))])
      for (let i = 0; i < 3; i++) {
        const r = send(sb, "GET", CT_CONFIG)
        const res = yield* Effect.promise(() => r.promise)
        expect(res.status).toBe(200)
        expect(JSON.parse(res.body).data).toMatchObject({ hostname: "lab-alpine" })
        expect(r.settledAt! - r.sentAt).toBeGreaterThanOrEqual(148)
      }
      // several at once: each still waits its full latency
      const batch = Array.from({ length: 4 }, () => send(sb, "GET", CT_CONFIG))
      const answers = yield* Effect.promise(() => Promise.all(batch.map((b) => b.promise)))
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
      for (const b of batch) expect(b.settledAt! - b.sentAt).toBeGreaterThanOrEqual(148)
      const m = sb.control.metrics().api
      expect(m.injectedRequests).toBe(7)
      expect(m.injectedLatencyMs).toBe(7 * 150)
      expect(m.requests).toBe(7)
    }))

  it.scopedLive("its answer is the state at arrival: a change made while it waits is not in it", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("slow", { kind: "api", method: "GET", path: "/nodes/{node}/lxc/{vmid}/config" }, latency(400))])
      const guest = sb.lab.getGuest(102)!
      expect(guest.config["cores"]).toBe("1")
      const r = send(sb, "GET", CT_CONFIG)
      // the request is in the server (its latency counted at arrival): change the lab under it
      yield* until(() => arrivedUnderLatency(sb) === 1, "the GET to arrive")
      guest.config["cores"] = "3"
      // the GET was already handled: its API event is in the log while its answer still waits
      const event = sb.control.events().find((e) => e.kind === "api" && e.method === "GET" && e.path === `/api2/json${CT_CONFIG}`)
      expect(event).toMatchObject({ status: 200, decision: "allow" })
      // logged at arrival, its latency counts the wait its answer still has ahead
      expect(event?.latencyMs).toBeGreaterThanOrEqual(398)
      const res = yield* Effect.promise(() => r.promise)
      expect(r.settledAt! - r.sentAt).toBeGreaterThanOrEqual(398)
      expect(JSON.parse(res.body).data).toMatchObject({ hostname: "lab-alpine", cores: 1 })
      // a GET arriving after the change sees it
      const after = yield* Effect.promise(() => send(sb, "GET", CT_CONFIG).promise)
      expect(JSON.parse(after.body).data).toMatchObject({ cores: 3 })
    }))

  it.scopedLive("a GET with another fault besides the latency runs after the latency", () =>
    Effect.gen(function* () {
      const sb = yield* start([
        rule("slow", { kind: "api", method: "GET", path: "/nodes/{node}/lxc/{vmid}/config" }, latency(LATE_MS)),
        rule("broken", { kind: "api", method: "GET", path: "/nodes/{node}/lxc/{vmid}/config" }, { _tag: "status", code: 500, message: "got timeout" }, { _tag: "once" })
      ])
      const r = send(sb, "GET", CT_CONFIG)
      yield* until(() => arrivedUnderLatency(sb) === 1, "the GET to arrive")
      // nothing is decided before the latency: no fault fired, no API event yet (checked while the
      // latency cannot be over: the server's timer started after the request was sent)
      if (beforeLatency(r, LATE_MS)) expect(sb.control.events().filter((e) => e.kind === "fault" || e.kind === "api")).toEqual([])
      const res = yield* Effect.promise(() => r.promise)
      expect([res.status, res.reason]).toEqual([500, "got timeout"])
      expect(r.settledAt! - r.sentAt).toBeGreaterThanOrEqual(LATE_MS - 2)
      const faulted = sb.control.events().find((e) => e.kind === "api" && e.decision === "fault:broken")
      expect(faulted?.latencyMs).toBeGreaterThanOrEqual(LATE_MS - 2)
      // the next one (latency only) is early again, and right
      const next = send(sb, "GET", CT_CONFIG)
      yield* until(() => arrivedUnderLatency(sb) === 2, "the second GET to arrive")
      sb.lab.getGuest(102)!.config["cores"] = "2"
      const answer = yield* Effect.promise(() => next.promise)
      expect(JSON.parse(answer.body).data).toMatchObject({ cores: 1 })
      expect(next.settledAt! - next.sentAt).toBeGreaterThanOrEqual(LATE_MS - 2)
    }))

  it.scopedLive("a client that gives up before the latency is over gets nothing, and the server keeps answering", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("slow", { kind: "api", method: "GET", path: "/nodes/{node}/lxc/{vmid}/config" }, latency(1500))])
      const gaveUp = send(sb, "GET", CT_CONFIG, { timeoutMs: 50 })
      const error = yield* Effect.promise(() => gaveUp.promise.then(() => "answered", (e: Error) => e.message))
      expect(error).toBe("timeout")
      yield* Effect.sleep(Math.max(0, gaveUp.sentAt + 1700 - Date.now()))
      // no answer was written for it
      expect(sb.control.metrics().api.requests).toBe(0)
      const ok = yield* Effect.promise(() => send(sb, "GET", "/version").promise)
      expect(ok.status).toBe(200)
      expect(sb.control.metrics().api.requests).toBe(1)
    }))
})

describe("a POST under injected latency", () => {
  it.scopedLive("runs only after the latency: its effect is not in the lab before then", () =>
    Effect.gen(function* () {
      const sb = yield* start([rule("slow-post", { kind: "api", method: "POST", path: "/nodes/{node}/lxc/{vmid}/status/start" }, latency(LATE_MS))])
      const tasksOf102 = () => sb.lab.listTasks().filter((t) => t.id === "102")
      expect(sb.lab.getGuest(102)!.status).toBe("stopped")
      const r = send(sb, "POST", CT_START)
      yield* until(() => arrivedUnderLatency(sb) === 1, "the POST to arrive")
      // right after its arrival (the latency cannot be over yet): no task, no start event, the guest stopped
      if (beforeLatency(r, LATE_MS)) {
        expect(tasksOf102()).toEqual([])
        expect(sb.control.events().filter((e) => e.kind === "task" || e.kind === "api")).toEqual([])
        expect(sb.lab.getGuest(102)!.status).toBe("stopped")
      }
      // a read from the core in the meantime does not see it either
      const tasks = yield* call(sb, sb.tokens.operate, "GET", "/nodes/pve/tasks", { vmid: 102 })
      expect(tasks.status).toBe(200)
      if (beforeLatency(r, LATE_MS)) expect((tasks.json.data as ReadonlyArray<{ type: string }>).filter((t) => t.type === "vzstart")).toEqual([])
      // a GET over HTTPS sent now (no latency on it): if it was handled before the POST, it saw no task
      const read = send(sb, "GET", "/nodes/pve/tasks?vmid=102")
      const readAnswer = yield* Effect.promise(() => read.promise)
      const res = yield* Effect.promise(() => r.promise)
      expect(res.status).toBe(200)
      expect(r.settledAt! - r.sentAt).toBeGreaterThanOrEqual(LATE_MS - 2)
      const upid = JSON.parse(res.body).data as string
      expect(upid).toContain(":vzstart:102:")
      const apiSeq = (method: string, path: string) => sb.control.events().find((e) => e.kind === "api" && e.method === method && e.path === `/api2/json${path}`)?.seq ?? -1
      if (apiSeq("GET", "/nodes/pve/tasks") < apiSeq("POST", CT_START)) {
        expect((JSON.parse(readAnswer.body).data as ReadonlyArray<{ upid: string }>).map((t) => t.upid)).not.toContain(upid)
      }
      // the POST's API event was recorded after the latency
      const postEvent = sb.control.events().find((e) => e.kind === "api" && e.method === "POST")
      expect(postEvent?.latencyMs).toBeGreaterThanOrEqual(LATE_MS - 2)
      expect(tasksOf102().map((t) => t.upid)).toEqual([upid])
      yield* sb.lab.awaitTask(upid)
      expect(sb.lab.getGuest(102)!.status).toBe("running")
    }))
})
